package tegclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
)

// The staking routes.
const (
	pathStaking    = "/api/v1/staking"
	pathSlash      = "/api/v1/admin/staking/slash"
	pathValidators = pathStaking + "/validators"
)

// StakeRequest is a stake, unstake, delegation or redelegation: Agent's (empty: the caller's own;
// admins name any) Amount with Validator (empty: the agent's own stake), to To (redelegations).
type StakeRequest struct {
	Agent     string
	Validator string
	To        string
	Amount    avt.Amount
}

func (r StakeRequest) body() map[string]string {
	b := map[string]string{"amount": r.Amount.String()}
	for k, v := range map[string]string{"agent": r.Agent, "validator": r.Validator, "to": r.To} {
		if v != "" {
			b[k] = v
		}
	}
	return b
}

// write sends a write of the ledger and returns its ledger event and whether it was a replay.
func (c *Client) write(ctx context.Context, method, path string, body any, idemKey string) (teg.Transfer, bool, error) {
	var v teghttp.TransferView
	if err := c.do(ctx, method, path, nil, body, idemKey, &v); err != nil {
		return teg.Transfer{}, false, err
	}
	t, err := transfer(v)
	return t, v.Replayed, err
}

// Stake bonds liquid AVT: POST /api/v1/staking/stake.
func (c *Client) Stake(ctx context.Context, r StakeRequest, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPost, pathStaking+"/stake", r.body(), idemKey)
}

// Unstake starts unbonding stake: POST /api/v1/staking/unstake.
func (c *Client) Unstake(ctx context.Context, r StakeRequest, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPost, pathStaking+"/unstake", r.body(), idemKey)
}

// Delegate stakes with a validator (r.Validator required): POST /api/v1/staking/delegate.
func (c *Client) Delegate(ctx context.Context, r StakeRequest, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPost, pathStaking+"/delegate", r.body(), idemKey)
}

// Undelegate starts unbonding a delegation (r.Validator required): POST /api/v1/staking/undelegate.
func (c *Client) Undelegate(ctx context.Context, r StakeRequest, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPost, pathStaking+"/undelegate", r.body(), idemKey)
}

// Redelegate moves stake from r.Validator to r.To: POST /api/v1/staking/redelegate.
func (c *Client) Redelegate(ctx context.Context, r StakeRequest, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPost, pathStaking+"/redelegate", r.body(), idemKey)
}

// CreateValidator makes agent (empty: the caller) a validator: POST /api/v1/staking/validators.
// A nil commission is the default one.
func (c *Client) CreateValidator(ctx context.Context, agent string, selfStake avt.Amount, commissionBps *uint64, idemKey string) (teg.Transfer, bool, error) {
	body := map[string]any{"self_stake": selfStake.String()}
	if agent != "" {
		body["agent"] = agent
	}
	if commissionBps != nil {
		body["commission_bps"] = *commissionBps
	}
	return c.write(ctx, http.MethodPost, pathValidators, body, idemKey)
}

// EditValidator sets a validator's commission: PATCH /api/v1/staking/validators/{id}.
func (c *Client) EditValidator(ctx context.Context, id string, commissionBps uint64, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPatch, pathValidators+"/"+url.PathEscape(id), map[string]uint64{"commission_bps": commissionBps}, idemKey)
}

// Unjail returns a jailed validator to the active set: POST /api/v1/staking/validators/{id}:unjail.
func (c *Client) Unjail(ctx context.Context, id string, idemKey string) (teg.Transfer, bool, error) {
	return c.write(ctx, http.MethodPost, pathValidators+"/"+url.PathEscape(id)+":unjail", nil, idemKey)
}

// Validators lists the validators, most stake first: GET /api/v1/staking/validators.
func (c *Client) Validators(ctx context.Context) ([]teghttp.ValidatorView, error) {
	var v struct {
		Items []teghttp.ValidatorView `json:"items"`
	}
	err := c.do(ctx, http.MethodGet, pathValidators, nil, nil, "", &v)
	return v.Items, err
}

// Validator returns one validator: GET /api/v1/staking/validators/{id}.
func (c *Client) Validator(ctx context.Context, id string) (teghttp.ValidatorView, error) {
	var v teghttp.ValidatorView
	err := c.do(ctx, http.MethodGet, pathValidators+"/"+url.PathEscape(id), nil, nil, "", &v)
	return v, err
}

// StakingPosition returns an agent's stake, delegations, rewards and unbonding entries:
// GET /api/v1/staking/agents/{id}.
func (c *Client) StakingPosition(ctx context.Context, agent string) (teghttp.PositionView, error) {
	var v teghttp.PositionView
	err := c.do(ctx, http.MethodGet, pathStaking+"/agents/"+url.PathEscape(agent), nil, nil, "", &v)
	return v, err
}

// Rewards returns an agent's pending rewards: GET /api/v1/staking/rewards/{id}.
func (c *Client) Rewards(ctx context.Context, agent string) (teghttp.RewardsView, error) {
	var v teghttp.RewardsView
	err := c.do(ctx, http.MethodGet, pathStaking+"/rewards/"+url.PathEscape(agent), nil, nil, "", &v)
	return v, err
}

// Claim pays agent (empty: the caller) its rewards — of the stake with validator only, when
// named: POST /api/v1/staking/rewards:claim.
func (c *Client) Claim(ctx context.Context, agent, validator, idemKey string) (teg.Transfer, bool, error) {
	body := map[string]string{}
	if agent != "" {
		body["agent"] = agent
	}
	if validator != "" {
		body["validator"] = validator
	}
	return c.write(ctx, http.MethodPost, pathStaking+"/rewards:claim", body, idemKey)
}

// SetCompound turns auto-compounding of a stake on or off: PUT /api/v1/staking/compound.
func (c *Client) SetCompound(ctx context.Context, agent, validator string, on bool, idemKey string) (teg.Transfer, bool, error) {
	body := map[string]any{"on": on}
	if agent != "" {
		body["agent"] = agent
	}
	if validator != "" {
		body["validator"] = validator
	}
	return c.write(ctx, http.MethodPut, pathStaking+"/compound", body, idemKey)
}

// Epoch says where the reward epochs stand: GET /api/v1/staking/epoch.
func (c *Client) Epoch(ctx context.Context) (teghttp.EpochView, error) {
	var v teghttp.EpochView
	err := c.do(ctx, http.MethodGet, pathStaking+"/epoch", nil, nil, "", &v)
	return v, err
}

// Slash takes fractionBps of a validator's bonded and unbonding stake (admin): POST
// /api/v1/admin/staking/slash.
func (c *Client) Slash(ctx context.Context, validator string, fractionBps uint64, burn bool, reason, idemKey string) (teg.Transfer, bool, error) {
	body := map[string]any{"validator": validator, "fraction_bps": fractionBps, "reason": reason}
	if burn {
		body["burn"] = true
	}
	return c.write(ctx, http.MethodPost, pathSlash, body, idemKey)
}
