package teg

import (
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// secondsPerYear is the year of the emission rate (365 days).
const secondsPerYear = 365 * 24 * 3600

// stakeTx is one staking command being applied: the records it read and changed (decoded once,
// encoded into the state writes at the end) and the postings it makes.
type stakeTx struct {
	b     *batch
	c     *Command
	args  StakingArgs
	sp    *StakingParams
	w     stateWrites
	pools map[AccountID]*Pool
	dels  map[string]*Delegation
	order []string // keys of changed pools and delegations, first change first
	ps    []Posting
	data  map[string]string
}

func (b *batch) stakeTx(c *Command, ps []Posting) *stakeTx {
	t := &stakeTx{b: b, c: c, sp: &b.params.Staking, pools: map[AccountID]*Pool{}, dels: map[string]*Delegation{}, ps: ps,
		data: map[string]string{}}
	if c.Staking != nil {
		t.args = *c.Staking
	}
	return t
}

// applyStaking applies a staking command: its postings and event data, its state writes
// committed to the batch. Nothing is changed when it returns an error.
func (b *batch) applyStaking(c *Command, t *Transfer, ps []Posting) ([]Posting, map[string]string, *stateWrites, error) {
	x := b.stakeTx(c, ps)
	var err error
	switch c.Kind {
	case KindStake:
		err = x.stake()
	case KindUnstake:
		err = x.unstake()
	case KindRedelegate:
		err = x.redelegate()
	case KindValidatorCreate:
		err = x.createValidator()
	case KindValidatorEdit:
		err = x.editValidator()
	case KindUnjail:
		err = x.unjail()
	case KindClaim:
		err = x.claim(t)
	case KindCompound:
		err = x.compound()
	case KindEpoch:
		err = x.epoch(t)
	case KindRelease:
		err = x.release(t)
	case KindSlash:
		err = x.slash(t)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	x.flush()
	if t.To == "" && x.args.Validator != PassivePool {
		t.To = x.args.Validator
	}
	// The accounts the transfer names get it in their histories: they are read into the batch.
	for _, id := range [2]AccountID{t.From, t.To} {
		if id != "" {
			if _, err := b.account(id); err != nil {
				return nil, nil, nil, accountErr(id, err)
			}
		}
	}
	return x.ps, x.data, &x.w, nil
}

// validateStaking checks a staking command's shape (the state checks come when it is applied).
func validateStaking(c *Command) error {
	a := c.Staking
	if a == nil {
		a = &StakingArgs{}
	}
	needsFrom := c.Kind != KindEpoch && c.Kind != KindRelease && c.Kind != KindSlash
	if needsFrom && (c.From == "" || c.From.IsSystem()) {
		return ErrSystemAccount.With("field", "from")
	}
	if a.Validator != "" && !validPoolName(a.Validator) {
		return ErrNotValidator.With("field", "validator").With("validator", string(a.Validator))
	}
	switch c.Kind {
	case KindStake, KindUnstake, KindValidatorCreate:
		if c.Amount.IsZero() {
			return ErrZeroAmount.With("field", "amount")
		}
	case KindRedelegate:
		if c.Amount.IsZero() {
			return ErrZeroAmount.With("field", "amount")
		}
		if a.Validator == "" {
			return ErrNotValidator.With("field", "validator")
		}
		if !validPoolName(a.To) {
			return ErrNotValidator.With("field", "to").With("validator", string(a.To))
		}
		if a.To == a.Validator {
			return ErrSameValidator.With("field", "to")
		}
	case KindValidatorEdit:
		if a.CommissionBps == nil {
			return ErrInvalidCommission.With("field", "commission_bps")
		}
	case KindSlash:
		if a.Validator == "" {
			return ErrNotValidator.With("field", "validator")
		}
		if a.FractionBps < 1 || a.FractionBps > 10000 {
			return ErrInvalidFraction.With("field", "fraction_bps")
		}
	case KindEpoch:
		if a.Epoch == 0 {
			return ErrEpochOutOfOrder.With("field", "epoch")
		}
	case KindRelease:
		if i := strings.IndexByte(a.Entry, '/'); i < 1 || i == len(a.Entry)-1 {
			return ErrUnbondingNotFound.With("field", "entry")
		}
	}
	if a.CommissionBps != nil && *a.CommissionBps > 10000 {
		return ErrInvalidCommission.With("field", "commission_bps")
	}
	return nil
}

// pool returns the pool id, or nil when there is none.
func (x *stakeTx) pool(id AccountID) (*Pool, error) {
	return cachedRecord(x, x.pools, id, PoolKey(id), DecodePool)
}

// cachedRecord returns the record key (cached in cache under k), decoded once, or nil when there
// is none.
func cachedRecord[K comparable, T any](x *stakeTx, cache map[K]*T, k K, key string, decode func(string) (*T, error)) (*T, error) {
	if v, ok := cache[k]; ok {
		return v, nil
	}
	text, ok, err := x.b.getState(&x.w, key)
	if err != nil || !ok {
		return nil, err
	}
	v, err := decode(text)
	if err != nil {
		return nil, err
	}
	cache[k] = v
	return v, nil
}

// validator returns the validator id, which must exist (and, with active, not be jailed).
func (x *stakeTx) validator(id AccountID, active bool) (*Pool, error) {
	p, err := x.pool(id)
	if err != nil {
		return nil, err
	}
	if p == nil || !p.Validator {
		return nil, ErrNotValidator.With("validator", string(id))
	}
	if active && p.Jailed {
		return nil, ErrValidatorJailed.With("validator", string(id))
	}
	return p, nil
}

// ownPool is the pool an agent's own stake is in: its validator's, or the passive pool.
func (x *stakeTx) ownPool(agent AccountID) (AccountID, error) {
	p, err := x.pool(agent)
	if err != nil {
		return "", err
	}
	if p != nil && p.Validator {
		return agent, nil
	}
	return PassivePool, nil
}

// targetPool is the pool a command names: Staking.Validator, or the agent's own.
func (x *stakeTx) targetPool() (AccountID, error) {
	if x.args.Validator != "" {
		return x.args.Validator, nil
	}
	return x.ownPool(x.c.From)
}

// targetRecord is the pool the command names (targetPool) and its record (nil: none yet).
func (x *stakeTx) targetRecord() (AccountID, *Pool, error) {
	id, err := x.targetPool()
	if err != nil {
		return "", nil, err
	}
	p, err := x.pool(id)
	return id, p, err
}

func (x *stakeTx) touchPool(p *Pool) { x.mark(PoolKey(p.ID)) }

func (x *stakeTx) mark(key string) {
	for _, k := range x.order {
		if k == key {
			return
		}
	}
	x.order = append(x.order, key)
}

// delegation returns the delegation of delegator to pool, or nil.
func (x *stakeTx) delegation(delegator, pool AccountID) (*Delegation, error) {
	key := DelegationKey(delegator, pool)
	return cachedRecord(x, x.dels, key, key, DecodeDelegation)
}

// flush encodes the changed pools and delegations into the state writes.
func (x *stakeTx) flush() {
	for _, k := range x.order {
		if strings.HasPrefix(k, prefixPool) {
			x.w.put(k, encodeRecord(x.pools[AccountID(strings.TrimPrefix(k, prefixPool))]))
			continue
		}
		d := x.dels[k]
		if d == nil {
			x.w.del(k)
		} else {
			x.w.put(k, encodeRecord(d))
		}
	}
	x.order = nil
}

func (x *stakeTx) move(from, to AccountID, amount avt.Amount) {
	if amount.IsZero() {
		return
	}
	x.ps = append(x.ps, Posting{Account: from, Part: Liquid, Amount: amount, Debit: true}, Posting{Account: to, Part: Liquid, Amount: amount})
}

// settle adds what the delegation earned since it last settled to its accrued rewards.
func settle(p *Pool, d *Delegation) {
	if !d.Compound {
		d.Accrued.Add(d.Accrued, new(big.Int).Mul(d.Shares, new(big.Int).Sub(p.Reward, d.RewardStart)))
	}
	d.RewardStart = new(big.Int).Set(p.Reward)
}

// ensureClock starts the epoch clock at the first stake.
func (x *stakeTx) ensureClock() error {
	_, ok, err := x.b.getState(&x.w, keyEpoch)
	if err != nil || ok {
		return err
	}
	x.w.put(keyEpoch, encodeRecord(EpochClock{EndedAt: x.b.now}))
	return nil
}

// bond adds amount of tokens to delegator's delegation with pool p (creating it), minting shares
// in its class. The tokens are bonded already (the caller moved them).
func (x *stakeTx) bond(p *Pool, delegator AccountID, amount avt.Amount) error {
	d, err := x.delegation(delegator, p.ID)
	if err != nil {
		return err
	}
	if d == nil {
		d = &Delegation{Delegator: delegator, Validator: p.ID, Shares: new(big.Int), RewardStart: new(big.Int).Set(p.Reward),
			Accrued: new(big.Int), CreatedAt: x.b.now}
		p.Delegators++
	}
	settle(p, d)
	tokens, shares := p.class(d.Compound)
	var minted *big.Int
	switch {
	case shares.Sign() == 0:
		minted = amount.Big()
	case tokens.IsZero():
		return ErrValidatorEmpty.With("validator", string(p.ID))
	default:
		minted = new(big.Int).Mul(amount.Big(), shares)
		minted.Quo(minted, tokens.Big())
	}
	nt, ok := tokens.Add(amount)
	if !ok {
		return ErrOverflow.With("field", "amount")
	}
	*tokens = nt
	shares.Add(shares, minted)
	d.Shares.Add(d.Shares, minted)
	x.dels[DelegationKey(delegator, p.ID)] = d
	x.touchPool(p)
	x.mark(DelegationKey(delegator, p.ID))
	return nil
}

// unbond removes amount of tokens from delegator's delegation with pool p, burning the shares
// they are worth (rounded up, so the delegation never keeps more than it is worth). The caller
// moves the tokens out of Bonded.
func (x *stakeTx) unbond(p *Pool, delegator AccountID, amount avt.Amount) error {
	d, err := x.delegation(delegator, p.ID)
	if err != nil {
		return err
	}
	if d == nil || d.Shares.Sign() == 0 {
		return ErrNoDelegation.With("validator", string(p.ID))
	}
	value := p.Value(d)
	if amount.Cmp(value) > 0 {
		return ErrUnstakeExceedsStake.With("field", "amount").With("staked", value.String()).With("requested", amount.String())
	}
	settle(p, d)
	tokens, shares := p.class(d.Compound)
	burnt := new(big.Int).Mul(amount.Big(), shares)
	burnt.Add(burnt, new(big.Int).Sub(tokens.Big(), big.NewInt(1)))
	burnt.Quo(burnt, tokens.Big()) // ceil(amount × shares / tokens); tokens ≥ amount > 0
	if burnt.Cmp(d.Shares) > 0 || amount == value {
		burnt.Set(d.Shares)
	}
	*tokens, _ = tokens.Sub(amount)
	shares.Sub(shares, burnt)
	d.Shares.Sub(d.Shares, burnt)
	key := DelegationKey(delegator, p.ID)
	x.mark(key)
	x.touchPool(p)
	if shares.Sign() == 0 && !tokens.IsZero() {
		// Rounding left tokens no share is worth: back to the reward pool, paid out next epoch.
		x.move(Bonded, StakingPool, *tokens)
		*tokens = avt.Amount{}
	}
	if d.Shares.Sign() == 0 {
		// The delegation is gone: its rewards are paid, and what is below a base unit goes
		// back to the pool's residual.
		pay := new(big.Int).Quo(d.Accrued, RewardScale)
		rest := new(big.Int).Rem(d.Accrued, RewardScale)
		if pay.Sign() > 0 {
			a, _ := avt.FromBig(pay)
			x.move(Rewards, delegator, a)
			x.data["rewards_paid"] = a.String()
		}
		p.Residual.Add(p.Residual, rest)
		x.dels[key] = nil
		p.Delegators--
	}
	return nil
}

// checkSelfStake jails a validator whose operator's self-stake fell below the minimum.
func (x *stakeTx) checkSelfStake(p *Pool) error {
	if !p.Validator || p.Jailed {
		return nil
	}
	d, err := x.delegation(p.ID, p.ID)
	if err != nil {
		return err
	}
	var self avt.Amount
	if d != nil {
		self = p.Value(d)
	}
	if self.Cmp(x.sp.MinSelfStake) < 0 {
		p.Jailed = true
		x.touchPool(p)
		x.data["jailed"] = string(p.ID)
	}
	return nil
}

func (x *stakeTx) newPassivePool() *Pool {
	p := &Pool{ID: PassivePool, Shares: new(big.Int), CShares: new(big.Int), Reward: new(big.Int), Residual: new(big.Int), CreatedAt: x.b.now}
	x.pools[PassivePool] = p
	return p
}

func (x *stakeTx) stake() error {
	if x.c.Amount.Cmp(x.sp.MinStake) < 0 {
		return ErrStakeBelowMinimum.With("field", "amount").With("minimum", x.sp.MinStake.String())
	}
	if err := x.b.checkPayer(x.c.From); err != nil {
		return err
	}
	id, err := x.targetPool()
	if err != nil {
		return err
	}
	var p *Pool
	if id == PassivePool {
		if p, err = x.pool(PassivePool); err == nil && p == nil {
			p = x.newPassivePool()
		}
	} else {
		// Others may not delegate to a jailed validator; its operator may top up its self-stake
		// (and then unjail it).
		p, err = x.validator(id, id != x.c.From)
	}
	if err != nil {
		return err
	}
	if err := x.ensureClock(); err != nil {
		return err
	}
	x.move(x.c.From, Bonded, x.c.Amount)
	x.data["pool"] = string(p.ID)
	return x.bond(p, x.c.From, x.c.Amount)
}

func (x *stakeTx) unstake() error {
	id, p, err := x.targetRecord()
	if err != nil {
		return err
	}
	if p == nil {
		return ErrNoDelegation.With("validator", string(id))
	}
	if err := x.unbond(p, x.c.From, x.c.Amount); err != nil {
		return err
	}
	if err := x.checkSelfStake(p); err != nil {
		return err
	}
	x.move(Bonded, UnbondingPool, x.c.Amount)
	e := UnbondingEntry{ID: x.c.ID, Delegator: x.c.From, Validator: p.ID, Initial: x.c.Amount, Balance: x.c.Amount,
		CreatedAt: x.b.now, CompletesAt: x.b.now.Add(time.Duration(x.sp.UnbondingSeconds) * time.Second)}
	ref := string(e.Delegator) + "/" + e.ID
	x.w.put(unbondingKey(e.Delegator, e.ID), encodeRecord(e))
	x.w.put(unbondQueueKey(e.CompletesAt, e.ID), ref)
	x.w.put(unbondByValKey(p.ID, e.ID), ref)
	x.data["pool"] = string(p.ID)
	x.data["completes_at"] = e.CompletesAt.Format(time.RFC3339Nano)
	return nil
}

func (x *stakeTx) redelegate() error {
	if x.c.Amount.Cmp(x.sp.MinStake) < 0 {
		return ErrStakeBelowMinimum.With("field", "amount").With("minimum", x.sp.MinStake.String())
	}
	src, err := x.pool(x.args.Validator)
	if err != nil {
		return err
	}
	if src == nil || !src.Validator {
		return ErrNotValidator.With("validator", string(x.args.Validator))
	}
	dst, err := x.validator(x.args.To, true)
	if err != nil {
		return err
	}
	// The Cosmos rule: stake that arrived at src by a redelegation that has not completed may
	// not hop on.
	prefix := redelegationPrefix(x.c.From, src.ID)
	hops, err := x.b.scanState(prefix, 0)
	if err != nil {
		return err
	}
	for _, h := range hops {
		r, err := decodeRecord[Redelegation](h.Key, h.Value)
		if err != nil {
			return err
		}
		if x.b.now.Before(r.CompletesAt) {
			return ErrRedelegationHop.With("validator", string(src.ID)).With("until", r.CompletesAt.Format(time.RFC3339))
		}
		x.w.del(h.Key) // completed: no longer needed
	}
	if err := x.unbond(src, x.c.From, x.c.Amount); err != nil {
		return err
	}
	if err := x.checkSelfStake(src); err != nil {
		return err
	}
	if err := x.bond(dst, x.c.From, x.c.Amount); err != nil {
		return err
	}
	r := Redelegation{ID: x.c.ID, Delegator: x.c.From, From: src.ID, To: dst.ID, Amount: x.c.Amount,
		CompletesAt: x.b.now.Add(time.Duration(x.sp.UnbondingSeconds) * time.Second)}
	x.w.put(redelegationPrefix(x.c.From, dst.ID)+r.ID, encodeRecord(r))
	x.data["from_validator"], x.data["to_validator"] = string(src.ID), string(dst.ID)
	return nil
}

func (x *stakeTx) createValidator() error {
	if err := x.b.checkPayer(x.c.From); err != nil {
		return err
	}
	p, err := x.pool(x.c.From)
	if err != nil {
		return err
	}
	if p != nil && p.Validator {
		return ErrValidatorExists.With("validator", string(x.c.From))
	}
	if x.c.Amount.Cmp(x.sp.MinSelfStake) < 0 {
		return ErrSelfStakeBelowMinimum.With("field", "amount").With("minimum", x.sp.MinSelfStake.String())
	}
	commission := x.sp.DefaultCommissionBps
	if x.args.CommissionBps != nil {
		commission = *x.args.CommissionBps
	}
	p = &Pool{ID: x.c.From, Validator: true, Shares: new(big.Int), CShares: new(big.Int), Reward: new(big.Int), Residual: new(big.Int),
		CommissionBps: commission, CreatedAt: x.b.now}
	x.pools[p.ID] = p
	if err := x.ensureClock(); err != nil {
		return err
	}
	x.move(x.c.From, Bonded, x.c.Amount)
	x.data["commission_bps"] = strconv.FormatUint(commission, 10)
	return x.bond(p, x.c.From, x.c.Amount)
}

func (x *stakeTx) editValidator() error {
	p, err := x.validator(x.c.From, false)
	if err != nil {
		return err
	}
	next := *x.args.CommissionBps
	diff := next - p.CommissionBps
	if next < p.CommissionBps {
		diff = p.CommissionBps - next
	}
	if diff > x.sp.MaxCommissionChangeBps {
		return ErrCommissionTooLarge.With("field", "commission_bps").With("current_bps", p.CommissionBps).
			With("max_change_bps", x.sp.MaxCommissionChangeBps)
	}
	if !p.CommissionSetAt.IsZero() && x.b.now.Before(p.CommissionSetAt.Add(24*time.Hour)) {
		return ErrCommissionTooSoon.With("field", "commission_bps").With("next_change_at", p.CommissionSetAt.Add(24*time.Hour).Format(time.RFC3339))
	}
	p.CommissionBps, p.CommissionSetAt = next, x.b.now
	x.touchPool(p)
	x.data["commission_bps"] = strconv.FormatUint(next, 10)
	return nil
}

func (x *stakeTx) unjail() error {
	p, err := x.validator(x.c.From, false)
	if err != nil {
		return err
	}
	if !p.Jailed {
		return ErrValidatorNotJailed.With("validator", string(p.ID))
	}
	p.Jailed = false
	if err := x.checkSelfStake(p); err != nil {
		return err
	}
	if p.Jailed {
		return ErrSelfStakeBelowMinimum.With("minimum", x.sp.MinSelfStake.String())
	}
	x.touchPool(p)
	return nil
}

func (x *stakeTx) claim(t *Transfer) error {
	var keys []string
	if x.args.Validator != "" {
		keys = []string{DelegationKey(x.c.From, x.args.Validator)}
	} else {
		all, err := x.b.scanState(DelegationsPrefix(x.c.From), 0)
		if err != nil {
			return err
		}
		for _, e := range all {
			keys = append(keys, e.Key)
		}
	}
	total := avt.Amount{}
	for _, k := range keys {
		pool := AccountID(k[strings.LastIndexByte(k, '/')+1:])
		d, err := x.delegation(x.c.From, pool)
		if err != nil {
			return err
		}
		if d == nil {
			continue
		}
		p, err := x.pool(pool)
		if err != nil {
			return err
		}
		if p == nil {
			return errCorruptState(k)
		}
		settle(p, d)
		pay := Claimable(d.Accrued)
		if pay.IsZero() {
			continue
		}
		d.Accrued.Sub(d.Accrued, new(big.Int).Mul(pay.Big(), RewardScale))
		x.mark(k)
		total, _ = total.Add(pay)
	}
	if x.args.Validator == "" || x.args.Validator == x.c.From {
		if p, err := x.pool(x.c.From); err != nil {
			return err
		} else if p != nil && !p.Earned.IsZero() {
			total, _ = total.Add(p.Earned)
			x.data["commission"] = p.Earned.String()
			p.Earned = avt.Amount{}
			x.touchPool(p)
		}
	}
	if total.IsZero() {
		return ErrNothingToClaim.With("account", string(x.c.From))
	}
	if err := x.b.checkReceive(x.c.From); err != nil {
		return err
	}
	x.move(Rewards, x.c.From, total)
	t.Amount, t.From, t.To = total, Rewards, x.c.From
	return nil
}

func errCorruptState(key string) error {
	return apperr.Internalf("staking state: %s names a record that does not exist", key)
}

func (x *stakeTx) compound() error {
	id, p, err := x.targetRecord()
	if err != nil {
		return err
	}
	var d *Delegation
	if p != nil {
		if d, err = x.delegation(x.c.From, id); err != nil {
			return err
		}
	}
	if d == nil || d.Shares.Sign() == 0 {
		return ErrNoDelegation.With("validator", string(id))
	}
	x.data["compound"] = strconv.FormatBool(x.args.Compound)
	if d.Compound == x.args.Compound {
		return nil
	}
	settle(p, d)
	value := p.Value(d)
	// Move the delegation's worth from one class to the other: its shares are burnt in the old
	// class and minted in the new one (rounding dust stays with the old class).
	tokens, shares := p.class(d.Compound)
	*tokens, _ = tokens.Sub(value)
	shares.Sub(shares, d.Shares)
	if shares.Sign() == 0 && !tokens.IsZero() {
		x.move(Bonded, StakingPool, *tokens)
		*tokens = avt.Amount{}
	}
	d.Shares = new(big.Int)
	d.Compound = x.args.Compound
	d.RewardStart = new(big.Int).Set(p.Reward)
	x.mark(DelegationKey(x.c.From, id))
	x.touchPool(p)
	if value.IsZero() {
		return nil
	}
	nt, ns := p.class(d.Compound)
	var minted *big.Int
	if ns.Sign() == 0 {
		minted = value.Big()
	} else if nt.IsZero() {
		return ErrValidatorEmpty.With("validator", string(p.ID))
	} else {
		minted = new(big.Int).Mul(value.Big(), ns)
		minted.Quo(minted, nt.Big())
	}
	*nt, _ = nt.Add(value)
	ns.Add(ns, minted)
	d.Shares = minted
	return nil
}

func (x *stakeTx) epoch(t *Transfer) error {
	text, ok, err := x.b.getState(&x.w, keyEpoch)
	if err != nil {
		return err
	}
	if !ok {
		return ErrEpochNotDue.With("reason", "nothing has been staked yet")
	}
	clock, err := DecodeEpochClock(text)
	if err != nil {
		return err
	}
	if x.args.Epoch != clock.Epoch+1 {
		return ErrEpochOutOfOrder.With("field", "epoch").With("expected", clock.Epoch+1)
	}
	length := time.Duration(x.sp.EpochSeconds) * time.Second
	end := clock.EndedAt.Add(length)
	if x.b.now.Before(end) {
		return ErrEpochNotDue.With("due_at", end.Format(time.RFC3339Nano))
	}
	entries, err := x.b.scanState(PoolsPrefix, 0)
	if err != nil {
		return err
	}
	var pools []*Pool
	var eligible, validators avt.Amount
	for _, e := range entries {
		p, err := DecodePool(e.Value)
		if err != nil {
			return err
		}
		x.pools[p.ID] = p
		if p.Validator {
			p.Epochs++
			if !p.Jailed {
				p.Active++
			}
			x.touchPool(p)
		}
		if p.Jailed || p.TotalTokens().IsZero() {
			continue
		}
		pools = append(pools, p)
		eligible, _ = eligible.Add(p.TotalTokens())
		if p.Validator {
			validators, _ = validators.Add(p.TotalTokens())
		}
	}
	// The emission: APR of the bonded stake, for this epoch's length, from the treasury while it
	// holds enough (else what it holds).
	bonded, err := x.b.liquid(Bonded)
	if err != nil {
		return err
	}
	emission := mulDivFloor(bonded, big.NewInt(int64(x.sp.EmissionAPRBps)*x.sp.EpochSeconds), big.NewInt(10000*secondsPerYear))
	if eligible.IsZero() {
		emission = avt.Amount{}
	}
	treasury, err := x.b.liquid(Treasury)
	if err != nil {
		return err
	}
	if emission.Cmp(treasury) > 0 {
		emission = treasury
	}
	pot, err := x.b.liquid(StakingPool)
	if err != nil {
		return err
	}
	pot, _ = pot.Add(emission)
	vpot, err := x.b.liquid(ValidatorPool)
	if err != nil {
		return err
	}
	x.move(Treasury, StakingPool, emission)
	var toBonded, toRewards, fromValPool avt.Amount
	for _, p := range pools {
		share := mulDivFloor(pot, p.TotalTokens().Big(), eligible.Big())
		if p.Validator && !validators.IsZero() {
			v := mulDivFloor(vpot, p.TotalTokens().Big(), validators.Big())
			p.Earned, _ = p.Earned.Add(v)
			fromValPool, _ = fromValPool.Add(v)
		}
		commission := avt.Amount{}
		if p.Validator {
			commission = bps(share, p.CommissionBps)
			p.Earned, _ = p.Earned.Add(commission)
		}
		rest, _ := share.Sub(commission)
		// Split between the classes by their tokens.
		toC := mulDivFloor(rest, p.CTokens.Big(), p.TotalTokens().Big())
		toP, _ := rest.Sub(toC)
		if p.Shares.Sign() == 0 && !toP.IsZero() { // no plain shares to pay: compound it all
			toC, _ = toC.Add(toP)
			toP = avt.Amount{}
		}
		if !toC.IsZero() {
			p.CTokens, _ = p.CTokens.Add(toC)
			toBonded, _ = toBonded.Add(toC)
		}
		if !toP.IsZero() {
			num := new(big.Int).Mul(toP.Big(), RewardScale)
			num.Add(num, p.Residual)
			q, r := new(big.Int).QuoRem(num, p.Shares, new(big.Int))
			p.Reward.Add(p.Reward, q)
			p.Residual = r
		}
		paid, _ := commission.Add(toP)
		toRewards, _ = toRewards.Add(paid)
		x.touchPool(p)
	}
	x.move(StakingPool, Bonded, toBonded)
	x.move(StakingPool, Rewards, toRewards)
	x.move(ValidatorPool, Rewards, fromValPool)
	clock.Epoch, clock.EndedAt = x.args.Epoch, end
	x.w.put(keyEpoch, encodeRecord(clock))
	distributed, _ := toBonded.Add(toRewards)
	distributed, _ = distributed.Add(fromValPool)
	t.Amount, t.From, t.To = distributed, StakingPool, Rewards
	x.data["epoch"] = strconv.FormatUint(x.args.Epoch, 10)
	x.data["emission"] = emission.String()
	x.data["distributed"] = distributed.String()
	x.data["pools"] = strconv.Itoa(len(pools))
	return nil
}

// liquid is the liquid balance of a system account as the batch sees it.
func (b *batch) liquid(id AccountID) (avt.Amount, error) {
	i, err := b.account(id)
	if err != nil {
		return avt.Amount{}, accountErr(id, err)
	}
	return b.accounts[i].Liquid, nil
}

func (x *stakeTx) release(t *Transfer) error {
	i := strings.IndexByte(x.args.Entry, '/')
	delegator, id := AccountID(x.args.Entry[:i]), x.args.Entry[i+1:]
	key := unbondingKey(delegator, id)
	text, ok, err := x.b.getState(&x.w, key)
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnbondingNotFound.With("entry", x.args.Entry)
	}
	e, err := DecodeUnbonding(text)
	if err != nil {
		return err
	}
	if x.b.now.Before(e.CompletesAt) {
		return ErrUnbondingNotDue.With("entry", x.args.Entry).With("completes_at", e.CompletesAt.Format(time.RFC3339Nano))
	}
	if err := x.b.checkReceive(delegator); err != nil {
		return err
	}
	x.move(UnbondingPool, delegator, e.Balance)
	x.w.del(key)
	x.w.del(unbondQueueKey(e.CompletesAt, e.ID))
	x.w.del(unbondByValKey(e.Validator, e.ID))
	t.From, t.To, t.Amount = UnbondingPool, delegator, e.Balance
	return nil
}

func (x *stakeTx) slash(t *Transfer) error {
	p, err := x.validator(x.args.Validator, false)
	if err != nil {
		return err
	}
	dest := Treasury
	if x.args.Burn {
		dest = Burn
	}
	total, err := x.slashPool(p, x.args.FractionBps, dest)
	if err != nil {
		return err
	}
	t.From, t.To, t.Amount = p.ID, dest, total
	return nil
}

// slashPool takes fraction f (basis points) of a validator pool's bonded tokens and of every
// unbonding entry from it, to dest, and records the amounts in the event's data.
func (x *stakeTx) slashPool(p *Pool, f uint64, dest AccountID) (avt.Amount, error) {
	cutP, cutC := bps(p.Tokens, f), bps(p.CTokens, f)
	p.Tokens, _ = p.Tokens.Sub(cutP)
	p.CTokens, _ = p.CTokens.Sub(cutC)
	bondedCut, _ := cutP.Add(cutC)
	x.touchPool(p)
	refs, err := x.b.scanState(prefixUnbondByVal+string(p.ID)+"/", 0)
	if err != nil {
		return avt.Amount{}, err
	}
	var unbondingCut avt.Amount
	for _, r := range refs {
		i := strings.IndexByte(r.Value, '/')
		if i < 0 {
			return avt.Amount{}, errCorruptState(r.Key)
		}
		cut, err := x.cutUnbonding(unbondingKey(AccountID(r.Value[:i]), r.Value[i+1:]), f)
		if err != nil {
			return avt.Amount{}, err
		}
		unbondingCut, _ = unbondingCut.Add(cut)
	}
	if err := x.checkSelfStake(p); err != nil {
		return avt.Amount{}, err
	}
	x.move(Bonded, dest, bondedCut)
	x.move(UnbondingPool, dest, unbondingCut)
	total, _ := bondedCut.Add(unbondingCut)
	x.data["validator"] = string(p.ID)
	x.data["fraction_bps"] = strconv.FormatUint(f, 10)
	x.data["bonded_slashed"] = bondedCut.String()
	x.data["unbonding_slashed"] = unbondingCut.String()
	return total, nil
}

// cutUnbonding takes fraction f of the unbonding entry under key (the caller moves the tokens)
// and returns what it took.
func (x *stakeTx) cutUnbonding(key string, f uint64) (avt.Amount, error) {
	text, ok, err := x.b.getState(&x.w, key)
	if err != nil {
		return avt.Amount{}, err
	}
	if !ok {
		return avt.Amount{}, errCorruptState(key)
	}
	e, err := DecodeUnbonding(text)
	if err != nil {
		return avt.Amount{}, err
	}
	cut := bps(e.Balance, f)
	if cut.IsZero() {
		return cut, nil
	}
	e.Balance, _ = e.Balance.Sub(cut)
	x.w.put(key, encodeRecord(e))
	return cut, nil
}
