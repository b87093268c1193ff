package teghttp

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

// ValidatorView is a validator as the API shows it.
type ValidatorView struct {
	ID            string    `json:"id" doc:"The validator's agent id"`
	Stake         string    `json:"stake" doc:"Every token bonded to it (self-stake and delegations), AVT"`
	SelfStake     string    `json:"self_stake" doc:"Its operator's own stake, AVT"`
	CommissionBps uint64    `json:"commission_bps" doc:"Its cut of its pool's rewards, basis points"`
	Jailed        bool      `json:"jailed" doc:"A jailed validator earns nothing and takes no new stake until unjailed"`
	Delegators    int       `json:"delegators" doc:"How many stakes it holds, its operator's included"`
	Uptime        float64   `json:"uptime" minimum:"0" maximum:"1" doc:"The share of the epochs since it was created in which it was not jailed (1 before its first epoch)"`
	CreatedAt     time.Time `json:"created_at"`
}

func validatorView(v teg.ValidatorInfo) ValidatorView {
	return ValidatorView{ID: string(v.ID), Stake: v.Tokens.String(), SelfStake: v.SelfStake.String(), CommissionBps: v.CommissionBps,
		Jailed: v.Jailed, Delegators: v.Delegators, Uptime: v.Uptime, CreatedAt: v.CreatedAt}
}

// DelegationView is one of an agent's stakes.
type DelegationView struct {
	Validator string    `json:"validator" doc:"The validator, or \"passive\" for stake without a validator"`
	Amount    string    `json:"amount" doc:"What the stake is worth now, AVT"`
	Shares    string    `json:"shares" doc:"The shares of the validator's pool it holds"`
	Compound  bool      `json:"compound" doc:"Auto-compound: its rewards are added to the stake"`
	Rewards   string    `json:"rewards" doc:"Rewards earned and not claimed, AVT"`
	Since     time.Time `json:"since"`
}

// UnbondingView is stake on its way back to the liquid balance.
type UnbondingView struct {
	ID          string    `json:"id"`
	Validator   string    `json:"validator"`
	Initial     string    `json:"initial" doc:"What was unstaked, AVT"`
	Balance     string    `json:"balance" doc:"What will be released (less if a slash hit it), AVT"`
	CreatedAt   time.Time `json:"created_at"`
	CompletesAt time.Time `json:"completes_at" doc:"When the balance returns to the liquid balance"`
}

// EpochView is where the reward epochs stand.
type EpochView struct {
	Epoch        uint64     `json:"epoch" doc:"The last epoch paid (0: none yet)"`
	EndedAt      *time.Time `json:"ended_at,omitempty" doc:"When that epoch ended (the clock starts at the first stake)"`
	NextDueAt    *time.Time `json:"next_due_at,omitempty" doc:"When the next epoch is due"`
	EpochSeconds int64      `json:"epoch_seconds" doc:"The length of an epoch"`
}

// PositionView is an agent's whole staking position.
type PositionView struct {
	Agent       string           `json:"agent"`
	Liquid      string           `json:"liquid" doc:"What the agent may stake now, AVT"`
	Staked      string           `json:"staked" doc:"Everything the agent has bonded, AVT"`
	Unbonding   string           `json:"unbonding" doc:"Everything on its way back, AVT"`
	Rewards     string           `json:"rewards" doc:"Rewards earned and not claimed, AVT"`
	Commission  string           `json:"commission" doc:"A validator operator's unclaimed commission and validator-pool income, AVT"`
	Validator   *ValidatorView   `json:"validator,omitempty" doc:"The agent's own validator, if it runs one"`
	Delegations []DelegationView `json:"delegations"`
	Unbondings  []UnbondingView  `json:"unbonding_entries" doc:"Soonest first"`
	Epoch       EpochView        `json:"epoch"`
}

// RewardsView is what an agent may claim.
type RewardsView struct {
	Agent       string             `json:"agent"`
	Total       string             `json:"total" doc:"What a claim of everything would pay now, AVT"`
	Commission  string             `json:"commission" doc:"Of which commission and validator-pool income, AVT"`
	Delegations []DelegationReward `json:"delegations"`
	Epoch       uint64             `json:"epoch" doc:"The last epoch paid"`
}

// DelegationReward is the pending reward of one stake.
type DelegationReward struct {
	Validator string `json:"validator"`
	Rewards   string `json:"rewards" doc:"AVT; 0 for an auto-compounding stake, whose rewards are added to it"`
	Compound  bool   `json:"compound"`
}

type stakeInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Agent     string `json:"agent,omitempty" maxLength:"128" doc:"The agent whose stake this is (default: the calling agent; only admins name another)"`
		Validator string `json:"validator,omitempty" maxLength:"128" doc:"The validator (default: the agent's own stake — its own validator if it runs one, else stake without a validator)"`
		Amount    string `json:"amount" maxLength:"64" doc:"AVT as a decimal string, at most 18 fractional digits" example:"100"`
	}
}

type delegateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Agent     string `json:"agent,omitempty" maxLength:"128" doc:"The agent whose stake this is (default: the calling agent; only admins name another)"`
		Validator string `json:"validator" minLength:"1" maxLength:"128" doc:"The validator's agent id"`
		Amount    string `json:"amount" maxLength:"64" doc:"AVT as a decimal string, at most 18 fractional digits" example:"100"`
	}
}

type redelegateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Agent     string `json:"agent,omitempty" maxLength:"128" doc:"The agent whose stake this is (default: the calling agent; only admins name another)"`
		Validator string `json:"validator" minLength:"1" maxLength:"128" doc:"The validator the stake leaves"`
		To        string `json:"to" minLength:"1" maxLength:"128" doc:"The validator it moves to"`
		Amount    string `json:"amount" maxLength:"64" doc:"AVT as a decimal string, at most 18 fractional digits" example:"100"`
	}
}

type createValidatorInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Agent         string  `json:"agent,omitempty" maxLength:"128" doc:"The agent that becomes a validator (default: the calling agent; only admins name another)"`
		SelfStake     string  `json:"self_stake" maxLength:"64" doc:"The operator's stake, bonded from its liquid balance (at least the minimum self-stake), AVT" example:"1000"`
		CommissionBps *uint64 `json:"commission_bps,omitempty" doc:"Basis points, 0 to 10000 (default: the parameter set's default commission)"`
	}
}

type editValidatorInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	ID             string `path:"id" maxLength:"128" doc:"The validator's agent id"`
	Body           struct {
		CommissionBps uint64 `json:"commission_bps" doc:"Basis points, 0 to 10000; it may change by at most the daily limit, once a day"`
	}
}

type validatorActionInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Ref            string `path:"id" maxLength:"200" doc:"{id}:unjail"`
}

type validatorInput struct {
	ID string `path:"id" maxLength:"128" doc:"The validator's agent id"`
}

type agentInput struct {
	ID string `path:"id" maxLength:"128" doc:"The agent"`
}

type claimInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           *struct {
		Agent     string `json:"agent,omitempty" maxLength:"128" doc:"The agent whose rewards these are (default: the calling agent; only admins name another)"`
		Validator string `json:"validator,omitempty" maxLength:"128" doc:"Claim only the rewards of the stake with this validator (default: all, and the operator's commission)"`
	} `required:"false"`
}

type compoundInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Agent     string `json:"agent,omitempty" maxLength:"128" doc:"The agent whose stake this is (default: the calling agent; only admins name another)"`
		Validator string `json:"validator,omitempty" maxLength:"128" doc:"The stake with this validator (default: the agent's own stake)"`
		On        bool   `json:"on" doc:"true: the stake's rewards are added to it each epoch; false: they wait to be claimed"`
	}
}

type slashInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Validator   string `json:"validator" minLength:"1" maxLength:"128" doc:"The validator's agent id"`
		FractionBps uint64 `json:"fraction_bps" doc:"The share of its bonded and unbonding stake taken, basis points (1 to 10000)"`
		Burn        bool   `json:"burn,omitempty" doc:"Burn the slashed AVT (default: to the treasury)"`
		Reason      string `json:"reason" maxLength:"1024" doc:"Why (at most 256 bytes); recorded in the event log"`
	}
}

type validatorsOutput struct {
	Body struct {
		Items []ValidatorView `json:"items" doc:"Most stake first"`
	}
}

type validatorOutput struct{ Body ValidatorView }

type positionOutput struct{ Body PositionView }

type rewardsOutput struct{ Body RewardsView }

type epochOutput struct{ Body EpochView }

// errAgentRequired answers a staking write without an agent from a caller that is not one.
var errAgentRequired = apperr.New(apperr.Invalid, "AGENT_REQUIRED", "an agent stakes for itself; other callers name the agent (field agent)").With("field", "agent")

// agentOf is the agent a staking write acts for: the one named, else the calling agent. An
// anonymous caller is 401 whatever it names, before anything else is looked at.
func agentOf(caller policy.Subject, named string) (teg.AccountID, error) {
	if caller.Kind == policy.KindAnonymous || caller.ID == "" {
		return "", policy.ErrAuthRequired
	}
	if named != "" {
		return teg.AccountID(named), nil
	}
	if caller.Kind != policy.KindAgent {
		return "", errAgentRequired
	}
	return teg.AccountID(caller.ID), nil
}

// stakeRequest parses the common parts of a stake, unstake or redelegation.
func stakeRequest(caller policy.Subject, agent, validator, to, amount string) (teg.StakeRequest, error) {
	a, err := parseAmount(amount, "amount")
	if err != nil {
		return teg.StakeRequest{}, err
	}
	id, err := agentOf(caller, agent)
	if err != nil {
		return teg.StakeRequest{}, err
	}
	return teg.StakeRequest{Agent: id, Validator: teg.AccountID(validator), To: teg.AccountID(to), Amount: a}, nil
}

// registerStaking adds the staking routes (/api/v1/staking/…, the admin's slash) to api.
func (h *Token) registerStaking(api huma.API) {
	const tag = "staking"
	httpapi.Register(api, op("staking-stake", http.MethodPost, "/api/v1/staking/stake", "Stake liquid AVT: with a validator, or the agent's own stake (the agent, or an admin naming it)", http.StatusCreated, tag), h.stake)
	httpapi.Register(api, op("staking-unstake", http.MethodPost, "/api/v1/staking/unstake", "Start unbonding stake: it returns to the liquid balance after the unbonding period", http.StatusCreated, tag), h.unstake)
	httpapi.Register(api, op("staking-delegate", http.MethodPost, "/api/v1/staking/delegate", "Delegate liquid AVT to a validator (a stake that names one)", http.StatusCreated, tag), h.delegate)
	httpapi.Register(api, op("staking-undelegate", http.MethodPost, "/api/v1/staking/undelegate", "Start unbonding a delegation to a validator", http.StatusCreated, tag), h.undelegate)
	httpapi.Register(api, op("staking-redelegate", http.MethodPost, "/api/v1/staking/redelegate", "Move stake from one validator to another at once", http.StatusCreated, tag), h.redelegate)
	httpapi.Register(api, op("staking-validator-create", http.MethodPost, "/api/v1/staking/validators", "Become a validator with a self-stake", http.StatusCreated, tag), h.createValidator)
	httpapi.Register(api, op("staking-validator-edit", http.MethodPatch, "/api/v1/staking/validators/{id}", "Change a validator's commission (its operator)", http.StatusOK, tag), h.editValidator)
	httpapi.Register(api, op("staking-validator-action", http.MethodPost, "/api/v1/staking/validators/{id}", "POST …/{id}:unjail returns a jailed validator to the active set (its operator)", http.StatusCreated, tag), h.validatorAction)
	list := op("staking-validators", http.MethodGet, "/api/v1/staking/validators", "The validators, most stake first", http.StatusOK, tag)
	list.Security = nil
	httpapi.Register(api, list, h.validators)
	one := op("staking-validator", http.MethodGet, "/api/v1/staking/validators/{id}", "One validator", http.StatusOK, tag)
	one.Security = nil
	httpapi.Register(api, one, h.validator)
	httpapi.Register(api, op("staking-position", http.MethodGet, "/api/v1/staking/agents/{id}", "An agent's stake, delegations, rewards and unbonding entries (the agent or an admin)", http.StatusOK, tag), h.position)
	httpapi.Register(api, op("staking-history", http.MethodGet, "/api/v1/staking/agents/{id}/history", "An agent's staking operations, newest first (the agent or an admin)", http.StatusOK, tag), h.stakingHistory)
	httpapi.Register(api, op("staking-rewards", http.MethodGet, "/api/v1/staking/rewards/{id}", "An agent's pending rewards (the agent or an admin)", http.StatusOK, tag), h.rewards)
	httpapi.Register(api, op("staking-claim", http.MethodPost, "/api/v1/staking/rewards:claim", "Pay the agent its rewards (and, for a validator's operator, its commission)", http.StatusCreated, tag), h.claim)
	httpapi.Register(api, op("staking-compound", http.MethodPut, "/api/v1/staking/compound", "Turn auto-compounding of a stake on or off", http.StatusOK, tag), h.compound)
	epoch := op("staking-epoch", http.MethodGet, "/api/v1/staking/epoch", "Where the reward epochs stand and when the next is due", http.StatusOK, tag)
	epoch.Security = nil
	httpapi.Register(api, epoch, h.epoch)
	httpapi.Register(api, op("staking-slash", http.MethodPost, "/api/v1/admin/staking/slash", "Slash a validator's bonded and unbonding stake (admin)", http.StatusCreated, tag), h.slash)
}

func (h *Token) stake(ctx context.Context, in *stakeInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	req, err := stakeRequest(caller, in.Body.Agent, in.Body.Validator, "", in.Body.Amount)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Stake(ctx, caller, req, in.IdempotencyKey))
}

func (h *Token) unstake(ctx context.Context, in *stakeInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	req, err := stakeRequest(caller, in.Body.Agent, in.Body.Validator, "", in.Body.Amount)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Unstake(ctx, caller, req, in.IdempotencyKey))
}

func (h *Token) delegate(ctx context.Context, in *delegateInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	req, err := stakeRequest(caller, in.Body.Agent, in.Body.Validator, "", in.Body.Amount)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Stake(ctx, caller, req, in.IdempotencyKey))
}

func (h *Token) undelegate(ctx context.Context, in *delegateInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	req, err := stakeRequest(caller, in.Body.Agent, in.Body.Validator, "", in.Body.Amount)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Unstake(ctx, caller, req, in.IdempotencyKey))
}

func (h *Token) redelegate(ctx context.Context, in *redelegateInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	req, err := stakeRequest(caller, in.Body.Agent, in.Body.Validator, in.Body.To, in.Body.Amount)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Redelegate(ctx, caller, req, in.IdempotencyKey))
}

func (h *Token) createValidator(ctx context.Context, in *createValidatorInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	a, err := parseAmount(in.Body.SelfStake, "self_stake")
	if err != nil {
		return nil, err
	}
	agent, err := agentOf(caller, in.Body.Agent)
	if err != nil {
		return nil, err
	}
	t, replayed, err := h.Service.CreateValidator(ctx, caller, agent, a, in.Body.CommissionBps, in.IdempotencyKey)
	if ae, ok := apperr.As(err); ok && ae.Details["field"] == "amount" {
		err = ae.With("field", "self_stake") // the ledger's amount is this route's self_stake
	}
	return transferResult(t, replayed, err)
}

func (h *Token) editValidator(ctx context.Context, in *editValidatorInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, in.ID)
	if err != nil {
		return nil, err
	}
	return okResult(h.Service.EditValidator(ctx, caller, agent, in.Body.CommissionBps, in.IdempotencyKey))
}

var errBadValidatorAction = apperr.New(apperr.NotFound, "NOT_FOUND", "use POST /api/v1/staking/validators/{id}:unjail")

func (h *Token) validatorAction(ctx context.Context, in *validatorActionInput) (*transferOutput, error) {
	id, ok := strings.CutSuffix(in.Ref, ":unjail")
	if !ok || id == "" {
		return nil, errBadValidatorAction
	}
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, id)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Unjail(ctx, caller, agent, in.IdempotencyKey))
}

func (h *Token) validators(ctx context.Context, _ *struct{}) (*validatorsOutput, error) {
	all, err := h.Service.Validators(ctx)
	if err != nil {
		return nil, err
	}
	out := &validatorsOutput{}
	out.Body.Items = make([]ValidatorView, len(all))
	for i, v := range all {
		out.Body.Items[i] = validatorView(v)
	}
	return out, nil
}

func (h *Token) validator(ctx context.Context, in *validatorInput) (*validatorOutput, error) {
	v, err := h.Service.Validator(ctx, teg.AccountID(in.ID))
	if err != nil {
		return nil, err
	}
	return &validatorOutput{Body: validatorView(v)}, nil
}

// epochView is the clock and its next due time.
func (h *Token) epochView(ctx context.Context) (EpochView, error) {
	c, next, err := h.Service.StakingClock(ctx)
	if err != nil {
		return EpochView{}, err
	}
	p, err := h.Service.Params(ctx)
	if err != nil {
		return EpochView{}, err
	}
	v := EpochView{Epoch: c.Epoch, EpochSeconds: p.Params.Staking.EpochSeconds}
	if !c.EndedAt.IsZero() {
		v.EndedAt, v.NextDueAt = &c.EndedAt, &next
	}
	return v, nil
}

// stakingOf is an agent's staking position and its account (404 ACCOUNT_NOT_FOUND for an agent
// without a wallet).
func (h *Token) stakingOf(ctx context.Context, agent string) (teg.StakingSummary, teg.Account, error) {
	caller := httpapi.Subject(ctx)
	s, err := h.Service.StakingOf(ctx, caller, teg.AccountID(agent))
	if err != nil {
		return teg.StakingSummary{}, teg.Account{}, err
	}
	a, err := h.Service.Balance(ctx, caller, teg.AccountID(agent))
	return s, a, err
}

func (h *Token) position(ctx context.Context, in *agentInput) (*positionOutput, error) {
	s, acct, err := h.stakingOf(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	ep, err := h.epochView(ctx)
	if err != nil {
		return nil, err
	}
	v := PositionView{Agent: string(s.Agent), Liquid: acct.Liquid.String(), Staked: s.Staked.String(), Unbonding: s.Unbonding.String(), Rewards: s.Rewards.String(),
		Commission: s.Commission.String(), Delegations: make([]DelegationView, len(s.Delegations)), Unbondings: make([]UnbondingView, len(s.Unbondings)), Epoch: ep}
	if s.Validator != nil {
		vv := validatorView(*s.Validator)
		v.Validator = &vv
	}
	for i, d := range s.Delegations {
		v.Delegations[i] = DelegationView{Validator: string(d.Validator), Amount: d.Amount.String(), Shares: d.Shares, Compound: d.Compound,
			Rewards: d.Rewards.String(), Since: d.Since}
	}
	for i, u := range s.Unbondings {
		v.Unbondings[i] = UnbondingView{ID: u.ID, Validator: string(u.Validator), Initial: u.Initial.String(), Balance: u.Balance.String(),
			CreatedAt: u.CreatedAt, CompletesAt: u.CompletesAt}
	}
	return &positionOutput{Body: v}, nil
}

func (h *Token) rewards(ctx context.Context, in *agentInput) (*rewardsOutput, error) {
	s, _, err := h.stakingOf(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	total, _ := s.Rewards.Add(s.Commission)
	v := RewardsView{Agent: string(s.Agent), Total: total.String(), Commission: s.Commission.String(),
		Delegations: make([]DelegationReward, len(s.Delegations)), Epoch: s.Epoch.Epoch}
	for i, d := range s.Delegations {
		v.Delegations[i] = DelegationReward{Validator: string(d.Validator), Rewards: d.Rewards.String(), Compound: d.Compound}
	}
	return &rewardsOutput{Body: v}, nil
}

func (h *Token) claim(ctx context.Context, in *claimInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	var named, validator string
	if in.Body != nil {
		named, validator = in.Body.Agent, in.Body.Validator
	}
	agent, err := agentOf(caller, named)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Claim(ctx, caller, agent, teg.AccountID(validator), in.IdempotencyKey))
}

func (h *Token) compound(ctx context.Context, in *compoundInput) (*transferOutput, error) {
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, in.Body.Agent)
	if err != nil {
		return nil, err
	}
	return okResult(h.Service.SetCompound(ctx, caller, agent, teg.AccountID(in.Body.Validator), in.Body.On, in.IdempotencyKey))
}

// okResult answers a write that changes a setting (PUT, PATCH): 200 with its ledger event.
func okResult(t teg.Transfer, replayed bool, err error) (*transferOutput, error) {
	if err != nil {
		return nil, err
	}
	return &transferOutput{Status: http.StatusOK, Body: transferView(t, replayed)}, nil
}

func (h *Token) epoch(ctx context.Context, _ *struct{}) (*epochOutput, error) {
	v, err := h.epochView(ctx)
	if err != nil {
		return nil, err
	}
	return &epochOutput{Body: v}, nil
}

func (h *Token) slash(ctx context.Context, in *slashInput) (*transferOutput, error) {
	b := &in.Body
	return transferResult(h.Service.Slash(ctx, httpapi.Subject(ctx), teg.AccountID(b.Validator), b.FractionBps, b.Burn, b.Reason, in.IdempotencyKey))
}

type stakingHistoryInput struct {
	ID string `path:"id" maxLength:"128" doc:"The agent"`
	httpapi.PageParams
}

func (h *Token) stakingHistory(ctx context.Context, in *stakingHistoryInput) (*historyOutput, error) {
	var before uint64
	if err := httpapi.DecodeCursor(in.Cursor, &before); err != nil {
		return nil, err
	}
	items, err := h.Service.StakingHistory(ctx, httpapi.Subject(ctx), teg.AccountID(in.ID), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	return transferPage(items, in.Limit), nil
}
