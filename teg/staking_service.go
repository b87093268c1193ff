package teg

import (
	"context"
	"slices"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
)

// StakeRequest is what an agent asks of staking: Amount of its stake, with Validator (none: its
// own stake), To for a redelegation.
type StakeRequest struct {
	Agent     AccountID
	Validator AccountID
	To        AccountID
	Amount    avt.Amount
}

// staking runs one staking command for caller on the account agent, authorized as action.
func (s *Service) staking(ctx context.Context, caller policy.Subject, action string, agent AccountID, c Command, idemKey string) (Transfer, bool, error) {
	if err := ValidateAgentAccount(agent); err != nil {
		return Transfer{}, false, err
	}
	if err := validateStaking(&c); err != nil {
		return Transfer{}, false, err
	}
	if err := s.authorize(ctx, caller, action, policy.Resource{Kind: "wallet", ID: string(agent), Owner: string(agent)}, nil); err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, c, idemKey)
}

// Stake bonds liquid AVT: to req.Validator, or with none to the agent's own stake.
func (s *Service) Stake(ctx context.Context, caller policy.Subject, req StakeRequest, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, req.Agent, Command{Kind: KindStake, From: req.Agent, Amount: req.Amount,
		Staking: &StakingArgs{Validator: req.Validator}}, idemKey)
}

// Unstake starts unbonding stake (from req.Validator, or the agent's own stake).
func (s *Service) Unstake(ctx context.Context, caller policy.Subject, req StakeRequest, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, req.Agent, Command{Kind: KindUnstake, From: req.Agent, Amount: req.Amount,
		Staking: &StakingArgs{Validator: req.Validator}}, idemKey)
}

// Redelegate moves stake from req.Validator to req.To at once.
func (s *Service) Redelegate(ctx context.Context, caller policy.Subject, req StakeRequest, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, req.Agent, Command{Kind: KindRedelegate, From: req.Agent, Amount: req.Amount,
		Staking: &StakingArgs{Validator: req.Validator, To: req.To}}, idemKey)
}

// CreateValidator makes the agent a validator with selfStake bonded from its liquid balance and
// the commission given (nil: the default).
func (s *Service) CreateValidator(ctx context.Context, caller policy.Subject, agent AccountID, selfStake avt.Amount, commissionBps *uint64, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, agent, Command{Kind: KindValidatorCreate, From: agent, Amount: selfStake,
		Staking: &StakingArgs{CommissionBps: commissionBps}}, idemKey)
}

// EditValidator sets the commission of the agent's validator.
func (s *Service) EditValidator(ctx context.Context, caller policy.Subject, agent AccountID, commissionBps uint64, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, agent, Command{Kind: KindValidatorEdit, From: agent,
		Staking: &StakingArgs{CommissionBps: &commissionBps}}, idemKey)
}

// Unjail returns the agent's jailed validator to the active set.
func (s *Service) Unjail(ctx context.Context, caller policy.Subject, agent AccountID, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, agent, Command{Kind: KindUnjail, From: agent}, idemKey)
}

// Claim pays the agent its rewards (from validator's pool only, when named) and its commission.
func (s *Service) Claim(ctx context.Context, caller policy.Subject, agent, validator AccountID, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, agent, Command{Kind: KindClaim, From: agent,
		Staking: &StakingArgs{Validator: validator}}, idemKey)
}

// SetCompound turns auto-compounding of the agent's stake with validator (none: its own) on or off.
func (s *Service) SetCompound(ctx context.Context, caller policy.Subject, agent, validator AccountID, on bool, idemKey string) (Transfer, bool, error) {
	return s.staking(ctx, caller, policy.ActionStakingWrite, agent, Command{Kind: KindCompound, From: agent,
		Staking: &StakingArgs{Validator: validator, Compound: on}}, idemKey)
}

// Slash takes fractionBps of a validator's bonded and unbonding stake, to the treasury (or
// burnt) — a domain operation for disputes and the auditor; over HTTP, admins only.
func (s *Service) Slash(ctx context.Context, caller policy.Subject, validator AccountID, fractionBps uint64, burn bool, reason, idemKey string) (Transfer, bool, error) {
	c := Command{Kind: KindSlash, Message: reason, Staking: &StakingArgs{Validator: validator, FractionBps: fractionBps, Burn: burn}}
	if err := validateStaking(&c); err != nil {
		return Transfer{}, false, err
	}
	if len(reason) > MaxMessageBytes {
		return Transfer{}, false, ErrMessageTooLong.With("field", "reason").With("max_bytes", MaxMessageBytes)
	}
	if err := s.authorize(ctx, caller, policy.ActionStakingSlash, policy.Resource{Kind: "validator", ID: string(validator)}, nil); err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, c, idemKey)
}

// ValidatorInfo is a validator as listed: its stake, terms and standing.
type ValidatorInfo struct {
	ID            AccountID  `json:"id"`
	Tokens        avt.Amount `json:"tokens"`
	SelfStake     avt.Amount `json:"self_stake"`
	CommissionBps uint64     `json:"commission_bps"`
	Jailed        bool       `json:"jailed"`
	Delegators    int        `json:"delegators"`
	// Uptime is the share of the epochs since the validator was created in which it was not
	// jailed (1 before its first epoch).
	Uptime    float64   `json:"uptime"`
	CreatedAt time.Time `json:"created_at"`
}

// stateStore is the keyed state the service reads (tegsql.Ledger has it).
func (s *Service) stateStore() (StateReader, error) {
	sr, ok := s.Store.(StateReader)
	if !ok {
		return nil, errNoState
	}
	return sr, nil
}

// Validators lists the validators, most stake first (public).
func (s *Service) Validators(ctx context.Context) ([]ValidatorInfo, error) {
	sr, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	entries, err := sr.ScanState(ctx, PoolsPrefix, 0)
	if err != nil {
		return nil, err
	}
	var out []ValidatorInfo
	for _, e := range entries {
		p, err := DecodePool(e.Value)
		if err != nil {
			return nil, err
		}
		if !p.Validator {
			continue
		}
		info, err := validatorInfo(ctx, sr, p)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slices.SortStableFunc(out, func(a, b ValidatorInfo) int { return b.Tokens.Cmp(a.Tokens) })
	return out, nil
}

// Validator returns one validator (public).
func (s *Service) Validator(ctx context.Context, id AccountID) (ValidatorInfo, error) {
	sr, err := s.stateStore()
	if err != nil {
		return ValidatorInfo{}, err
	}
	text, ok, err := sr.State(ctx, PoolKey(id))
	if err != nil {
		return ValidatorInfo{}, err
	}
	if !ok {
		return ValidatorInfo{}, ErrNotValidator.With("validator", string(id))
	}
	p, err := DecodePool(text)
	if err != nil {
		return ValidatorInfo{}, err
	}
	if !p.Validator {
		return ValidatorInfo{}, ErrNotValidator.With("validator", string(id))
	}
	return validatorInfo(ctx, sr, p)
}

// validatorInfo is the listing of the validator whose pool is p: its figures and its
// operator's self-stake (one read).
func validatorInfo(ctx context.Context, sr StateReader, p *Pool) (ValidatorInfo, error) {
	info := ValidatorInfo{ID: p.ID, Tokens: p.TotalTokens(), CommissionBps: p.CommissionBps, Jailed: p.Jailed, Delegators: p.Delegators,
		Uptime: 1, CreatedAt: p.CreatedAt}
	if p.Epochs > 0 {
		info.Uptime = float64(p.Active) / float64(p.Epochs)
	}
	text, ok, err := sr.State(ctx, DelegationKey(p.ID, p.ID))
	if err != nil || !ok {
		return info, err
	}
	d, err := DecodeDelegation(text)
	if err != nil {
		return ValidatorInfo{}, err
	}
	info.SelfStake = p.Value(d)
	return info, nil
}

// DelegationInfo is one of an agent's stakes: with whom, worth how much, earning what.
type DelegationInfo struct {
	Validator AccountID  `json:"validator"`
	Amount    avt.Amount `json:"amount"`
	Shares    string     `json:"shares"`
	Compound  bool       `json:"compound"`
	Rewards   avt.Amount `json:"rewards"`
	Since     time.Time  `json:"since"`
}

// StakingSummary is an agent's whole staking position.
type StakingSummary struct {
	Agent       AccountID        `json:"agent"`
	Staked      avt.Amount       `json:"staked"`
	Unbonding   avt.Amount       `json:"unbonding"`
	Rewards     avt.Amount       `json:"rewards"`
	Commission  avt.Amount       `json:"commission"`
	Validator   *ValidatorInfo   `json:"validator,omitempty"`
	Delegations []DelegationInfo `json:"delegations"`
	Unbondings  []UnbondingEntry `json:"unbonding_entries"`
	Epoch       EpochClock       `json:"epoch"`
}

// StakingOf returns an agent's staking position (the agent, an admin, or whoever the policy
// lets read the agent's balance).
func (s *Service) StakingOf(ctx context.Context, caller policy.Subject, agent AccountID) (StakingSummary, error) {
	if err := ValidateAgentAccount(agent); err != nil {
		return StakingSummary{}, err
	}
	if err := s.authorize(ctx, caller, policy.ActionStakingRead, policy.Resource{Kind: "wallet", ID: string(agent), Owner: string(agent)}, nil); err != nil {
		return StakingSummary{}, err
	}
	return s.stakingOf(ctx, agent)
}

// StakingOfUnchecked is StakingOf without the authorization: for the ledger's own operations and
// tests, never for a caller's request.
func (s *Service) StakingOfUnchecked(ctx context.Context, agent AccountID) (StakingSummary, error) {
	return s.stakingOf(ctx, agent)
}

// stakes reads an agent's delegations and unbonding entries: what its Staked and Unbonding
// balances are made of.
func (s *Service) stakes(ctx context.Context, agent AccountID) (StakingSummary, StateReader, error) {
	sr, err := s.stateStore()
	if err != nil {
		return StakingSummary{}, nil, err
	}
	out := StakingSummary{Agent: agent, Delegations: []DelegationInfo{}, Unbondings: []UnbondingEntry{}}
	dels, err := sr.ScanState(ctx, DelegationsPrefix(agent), 0)
	if err != nil {
		return StakingSummary{}, nil, err
	}
	for _, e := range dels {
		d, err := DecodeDelegation(e.Value)
		if err != nil {
			return StakingSummary{}, nil, err
		}
		text, ok, err := sr.State(ctx, PoolKey(d.Validator))
		if err != nil {
			return StakingSummary{}, nil, err
		}
		if !ok {
			return StakingSummary{}, nil, errCorruptState(e.Key)
		}
		p, err := DecodePool(text)
		if err != nil {
			return StakingSummary{}, nil, err
		}
		info := DelegationInfo{Validator: d.Validator, Amount: p.Value(d), Shares: d.Shares.String(), Compound: d.Compound,
			Rewards: Claimable(p.PendingReward(d)), Since: d.CreatedAt}
		out.Delegations = append(out.Delegations, info)
		out.Staked, _ = out.Staked.Add(info.Amount)
		out.Rewards, _ = out.Rewards.Add(info.Rewards)
	}
	ubs, err := sr.ScanState(ctx, UnbondingPrefix(agent), 0)
	if err != nil {
		return StakingSummary{}, nil, err
	}
	for _, e := range ubs {
		u, err := DecodeUnbonding(e.Value)
		if err != nil {
			return StakingSummary{}, nil, err
		}
		out.Unbondings = append(out.Unbondings, *u)
		out.Unbonding, _ = out.Unbonding.Add(u.Balance)
	}
	slices.SortFunc(out.Unbondings, func(a, b UnbondingEntry) int { return a.CompletesAt.Compare(b.CompletesAt) })
	return out, sr, nil
}

func (s *Service) stakingOf(ctx context.Context, agent AccountID) (StakingSummary, error) {
	out, sr, err := s.stakes(ctx, agent)
	if err != nil {
		return StakingSummary{}, err
	}
	if text, ok, err := sr.State(ctx, PoolKey(agent)); err != nil {
		return StakingSummary{}, err
	} else if ok {
		p, err := DecodePool(text)
		if err != nil {
			return StakingSummary{}, err
		}
		out.Commission = p.Earned
		if p.Validator {
			v, err := validatorInfo(ctx, sr, p)
			if err != nil {
				return StakingSummary{}, err
			}
			out.Validator = &v
		}
	}
	if text, ok, err := sr.State(ctx, EpochKey); err != nil {
		return StakingSummary{}, err
	} else if ok {
		c, err := DecodeEpochClock(text)
		if err != nil {
			return StakingSummary{}, err
		}
		out.Epoch = *c
	}
	return out, nil
}

// withStaking fills an agent account's Staked and Unbonding balances from its staking records.
func (s *Service) withStaking(ctx context.Context, a Account) (Account, error) {
	if a.ID.IsSystem() {
		return a, nil
	}
	if _, ok := s.Store.(StateReader); !ok {
		return a, nil
	}
	sum, _, err := s.stakes(ctx, a.ID)
	if err != nil {
		return Account{}, err
	}
	a.Staked, a.Unbonding = sum.Staked, sum.Unbonding
	return a, nil
}

// StakingClock says where the epochs stand and when the next one is due (zero: nothing has
// been staked yet).
func (s *Service) StakingClock(ctx context.Context) (EpochClock, time.Time, error) {
	sr, err := s.stateStore()
	if err != nil {
		return EpochClock{}, time.Time{}, err
	}
	text, ok, err := sr.State(ctx, EpochKey)
	if err != nil || !ok {
		return EpochClock{}, time.Time{}, err
	}
	c, err := DecodeEpochClock(text)
	if err != nil {
		return EpochClock{}, time.Time{}, err
	}
	p, err := s.Store.Params(ctx)
	if err != nil {
		return EpochClock{}, time.Time{}, err
	}
	return *c, c.EndedAt.Add(time.Duration(p.Staking.EpochSeconds) * time.Second), nil
}

// IsStaking reports whether a transfer records a staking operation.
func (t *Transfer) IsStaking() bool { return isStakingKind(t.Kind) }

// StakingHistory returns up to limit of the staking operations in an agent's history (stake,
// unstake, redelegation, claims, releases, its validator's commission changes and slashes)
// older than the sequence before (0: the newest), newest first (whoever may read its staking).
func (s *Service) StakingHistory(ctx context.Context, caller policy.Subject, agent AccountID, before uint64, limit int) ([]Transfer, error) {
	if err := ValidateAgentAccount(agent); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, caller, policy.ActionStakingRead, policy.Resource{Kind: "wallet", ID: string(agent), Owner: string(agent)}, nil); err != nil {
		return nil, err
	}
	if _, err := s.Store.Account(ctx, agent); err != nil {
		return nil, err
	}
	var out []Transfer
	// The history is the account's; staking entries are picked from it a page at a time (a
	// bounded number of pages per call: the caller continues from the last seq it got).
	for range 50 {
		page, err := s.Store.History(ctx, agent, before, 200)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			if t.IsStaking() {
				out = append(out, t)
				if len(out) == limit {
					return out, nil
				}
			}
		}
		if len(page) < 200 {
			break
		}
		before = page[len(page)-1].Seq
	}
	return out, nil
}
