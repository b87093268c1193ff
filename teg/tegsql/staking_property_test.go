package tegsql_test

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// The staking property: random stakes, delegations, redelegations, unbondings and releases,
// slashes, commission changes, auto-compound switches, claims, fee-paying transfers and epochs
// run against the SQL ledger and against a brute-force model that keeps every delegation
// separately and pays each one, every epoch, its pro-rata part of its pool's reward (a loop over
// all delegations: what F1 avoids). After every step:
//   - every delegation's tokens, shares and claimable reward equal the model's to the base unit
//     (the model pays each delegation shares × the epoch's reward per share, at the precision
//     teg.RewardScale, per epoch; F1 computes the same sum from two accumulator readings);
//   - every claimable reward is within one base unit of the exact rational pro-rata sum;
//   - every refused command is refused with the code the model predicts, and changes nothing;
//   - teg verify passes: the hash chain, balances replayed from postings, the supply, the staking
//     records rebuilt from the log equal to the stored ones, and Bonded, Unbonding and Rewards
//     accounted for by the records to the base unit.

const stakingPropSteps = 40

// stakeStats counts what the checks exercised, so a reader of -v output sees the property is
// not vacuous.
var stakeStats struct{ validators, delegations, epochsPaying, claims, slashes, redelegations, releases, compounds, refusals atomic.Int64 }

var stakeBase = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func stakingParams() teg.Params {
	p := teg.DefaultParams()
	p.Staking.UnbondingSeconds = 120
	p.Staking.EpochSeconds = 60
	p.Staking.EmissionAPRBps = 500
	return p
}

// mPool and mDel are the model's pools and delegations.
type mPool struct {
	id         teg.AccountID
	validator  bool
	jailed     bool
	commission uint64
	setAt      time.Time
	tp, tc     *big.Int // tokens, plain and compounding
	sp, sc     *big.Int // shares
	residual   *big.Int
	earned     *big.Int
}

type mDel struct {
	shares   *big.Int
	compound bool
	accrued  *big.Int // scaled by RewardScale
	exact    *big.Rat // the exact rational reward (base units) since the last claim
}

type mEntry struct {
	id        string
	delegator teg.AccountID
	pool      teg.AccountID
	balance   *big.Int
	completes time.Time
}

type mRedel struct {
	delegator, to teg.AccountID
	completes     time.Time
}

type stakeWorld struct {
	rt      *rapid.T
	l       *tegsql.Ledger
	clock   atomic.Int64
	n       int
	agents  []teg.AccountID
	pools   map[teg.AccountID]*mPool
	dels    map[[2]teg.AccountID]*mDel
	entries []*mEntry
	redels  []mRedel
	epoch   uint64
	ended   time.Time // the epoch clock (zero: not started)
	params  teg.Params
}

func (w *stakeWorld) now() time.Time { return stakeBase.Add(time.Duration(w.clock.Load())) }

func (w *stakeWorld) id() string { w.n++; return fmt.Sprintf("s%d", w.n) }

func TestStaking_PropertiesAgainstBruteForce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		checks := 0
		rapid.Check(t, func(rt *rapid.T) {
			checks++
			resetDB(rt, db)
			w := &stakeWorld{rt: rt, pools: map[teg.AccountID]*mPool{}, dels: map[[2]teg.AccountID]*mDel{}, params: stakingParams()}
			w.l = tegsql.Open(db, w.params, w.now)
			defer w.l.Close()
			w.setup()
			for steps := rapid.IntRange(1, stakingPropSteps).Draw(rt, "steps"); steps > 0; steps-- {
				w.step()
				w.check()
			}
		})
		t.Logf("%s: %d checks; validators %d, stakes %d, paying epochs %d, claims %d, slashes %d, redelegations %d, releases %d, compound switches %d, refusals %d",
			db.Dialect(), checks, stakeStats.validators.Load(), stakeStats.delegations.Load(), stakeStats.epochsPaying.Load(), stakeStats.claims.Load(),
			stakeStats.slashes.Load(), stakeStats.redelegations.Load(), stakeStats.releases.Load(), stakeStats.compounds.Load(), stakeStats.refusals.Load())
	})
}

func (w *stakeWorld) do(c teg.Command) (teg.Transfer, error) {
	tr, _, err := w.l.Do(context.Background(), c)
	if err != nil && apperr.KindOf(err) == apperr.Internal {
		w.rt.Fatalf("%v: internal error %v", c, err)
	}
	return tr, err
}

func (w *stakeWorld) mustDo(c teg.Command) teg.Transfer {
	tr, err := w.do(c)
	if err != nil {
		w.rt.Fatalf("%v: %v", c, err)
	}
	return tr
}

func (w *stakeWorld) setup() {
	w.mustDo(teg.Command{Kind: teg.KindMint, ID: w.id(), Amount: avt.AVT(10_000_000)})
	for i := range 5 {
		a := teg.AccountID(fmt.Sprintf("agt_s%d", i))
		w.agents = append(w.agents, a)
		w.mustDo(teg.Command{Kind: teg.KindOpen, ID: w.id(), To: a})
		w.mustDo(teg.Command{Kind: teg.KindGrant, ID: w.id(), To: a, Amount: avt.AVT(5000)})
	}
}

func (w *stakeWorld) liquid(id teg.AccountID) avt.Amount {
	a, err := w.l.Account(context.Background(), id)
	if err != nil {
		return avt.Amount{}
	}
	return a.Liquid
}

func (w *stakeWorld) amount(label string) avt.Amount {
	switch rapid.IntRange(0, 9).Draw(w.rt, label+"_kind") {
	case 0:
		return avt.AVT(uint64(rapid.IntRange(1, 9).Draw(w.rt, label+"_small"))) // below the minimum
	case 1:
		return avt.AVT(uint64(rapid.IntRange(1000, 2500).Draw(w.rt, label+"_big")))
	default:
		// Odd amounts with many digits, so shares and rewards round.
		units := rapid.Uint64Range(10_000_000_000_000_000, 900_000_000_000_000_000).Draw(w.rt, label+"_units")
		a, _ := avt.AVT(uint64(rapid.IntRange(10, 400).Draw(w.rt, label+"_avt"))).Add(avt.FromUnits(units))
		return a
	}
}

func (w *stakeWorld) agent(label string) teg.AccountID {
	return rapid.SampledFrom(w.agents).Draw(w.rt, label)
}

// validatorName draws a validator to name: a model validator, or any agent (maybe not one).
func (w *stakeWorld) validatorName(label string) teg.AccountID {
	var vs []teg.AccountID
	for id, p := range w.pools {
		if p.validator {
			vs = append(vs, id)
		}
	}
	slices.Sort(vs)
	if len(vs) > 0 && rapid.IntRange(0, 4).Draw(w.rt, label+"_valid") > 0 {
		return rapid.SampledFrom(vs).Draw(w.rt, label)
	}
	return w.agent(label)
}

// existing draws one of the model's delegations to a validator (ok false when there is none).
func (w *stakeWorld) existing(label string, validators bool) ([2]teg.AccountID, bool) {
	var ks [][2]teg.AccountID
	for k := range w.dels {
		if !validators || (w.pools[k[1]] != nil && w.pools[k[1]].validator) {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 || rapid.IntRange(0, 4).Draw(w.rt, label+"_existing") == 0 {
		return [2]teg.AccountID{}, false
	}
	slices.SortFunc(ks, func(a, b [2]teg.AccountID) int {
		if a[0] != b[0] {
			return strings.Compare(string(a[0]), string(b[0]))
		}
		return strings.Compare(string(a[1]), string(b[1]))
	})
	return rapid.SampledFrom(ks).Draw(w.rt, label), true
}

// part draws an amount of up to value (units), at least the minimum stake when it can.
func (w *stakeWorld) part(label string, value *big.Int) avt.Amount {
	v, _ := avt.FromBig(value)
	if v.Cmp(w.params.Staking.MinStake) <= 0 || rapid.IntRange(0, 3).Draw(w.rt, label+"_whole") == 0 {
		return v
	}
	span := new(big.Int).Sub(value, w.params.Staking.MinStake.Big())
	f := rapid.IntRange(0, 1000).Draw(w.rt, label+"_fraction")
	x := new(big.Int).Mul(span, big.NewInt(int64(f)))
	x.Quo(x, big.NewInt(1000)).Add(x, w.params.Staking.MinStake.Big())
	a, _ := avt.FromBig(x)
	return a
}

func (w *stakeWorld) step() {
	switch rapid.IntRange(0, 12).Draw(w.rt, "op") {
	case 0, 1:
		w.stake(w.agent("agent"), "")
	case 2, 3:
		w.stake(w.agent("agent"), w.validatorName("validator"))
	case 4:
		w.unstake()
	case 5:
		w.redelegate()
	case 6:
		w.createValidator()
	case 7:
		w.editCommission()
	case 8:
		w.slash()
	case 9:
		w.compound()
	case 10:
		w.claim()
	case 11:
		w.transfer()
	case 12:
		w.advance()
	}
}

func newPool(id teg.AccountID, validator bool, commission uint64) *mPool {
	return &mPool{id: id, validator: validator, commission: commission, tp: new(big.Int), tc: new(big.Int), sp: new(big.Int), sc: new(big.Int),
		residual: new(big.Int), earned: new(big.Int)}
}

func (p *mPool) class(compound bool) (*big.Int, *big.Int) {
	if compound {
		return p.tc, p.sc
	}
	return p.tp, p.sp
}

func (p *mPool) total() *big.Int { return new(big.Int).Add(p.tp, p.tc) }

func (p *mPool) value(d *mDel) *big.Int {
	t, s := p.class(d.compound)
	if s.Sign() == 0 {
		return new(big.Int)
	}
	v := new(big.Int).Mul(d.shares, t)
	return v.Quo(v, s)
}

// ownPool is the pool an agent's own stake goes to.
func (w *stakeWorld) ownPool(a teg.AccountID) teg.AccountID {
	if p := w.pools[a]; p != nil && p.validator {
		return a
	}
	return teg.PassivePool
}

// expect checks that err carries the code want ("" : success).
func (w *stakeWorld) expect(c teg.Command, err error, want string) bool {
	got := ""
	if err != nil {
		got = apperr.CodeOf(err)
	}
	if got != want {
		w.rt.Fatalf("%v %+v: got %q (%v), the model expects %q", c, c.Staking, got, err, want)
	}
	if err != nil {
		stakeStats.refusals.Add(1)
	} else {
		switch c.Kind {
		case teg.KindValidatorCreate:
			stakeStats.validators.Add(1)
		case teg.KindStake:
			stakeStats.delegations.Add(1)
		case teg.KindClaim:
			stakeStats.claims.Add(1)
		case teg.KindSlash:
			stakeStats.slashes.Add(1)
		case teg.KindRedelegate:
			stakeStats.redelegations.Add(1)
		case teg.KindCompound:
			stakeStats.compounds.Add(1)
		}
	}
	return err == nil
}

func (w *stakeWorld) startClock() {
	if w.ended.IsZero() {
		w.ended = w.now().Truncate(time.Microsecond)
	}
}

// bond and unbond are the model's share arithmetic.
func (w *stakeWorld) bond(p *mPool, a teg.AccountID, amount *big.Int) {
	k := [2]teg.AccountID{a, p.id}
	d := w.dels[k]
	if d == nil {
		d = &mDel{shares: new(big.Int), accrued: new(big.Int), exact: new(big.Rat)}
		w.dels[k] = d
	}
	t, s := p.class(d.compound)
	minted := new(big.Int).Set(amount)
	if s.Sign() > 0 {
		minted.Mul(amount, s).Quo(minted, t)
	}
	t.Add(t, amount)
	s.Add(s, minted)
	d.shares.Add(d.shares, minted)
}

func (w *stakeWorld) unbond(p *mPool, a teg.AccountID, amount *big.Int) (paid *big.Int) {
	k := [2]teg.AccountID{a, p.id}
	d := w.dels[k]
	t, s := p.class(d.compound)
	value := p.value(d)
	burnt := new(big.Int).Mul(amount, s)
	burnt.Add(burnt, new(big.Int).Sub(t, big.NewInt(1))).Quo(burnt, t)
	if burnt.Cmp(d.shares) > 0 || amount.Cmp(value) == 0 {
		burnt.Set(d.shares)
	}
	t.Sub(t, amount)
	s.Sub(s, burnt)
	d.shares.Sub(d.shares, burnt)
	if s.Sign() == 0 && t.Sign() > 0 {
		t.SetInt64(0) // dust back to the reward pool
	}
	if d.shares.Sign() == 0 {
		q, r := new(big.Int).QuoRem(d.accrued, teg.RewardScale, new(big.Int))
		p.residual.Add(p.residual, r)
		delete(w.dels, k)
		return q
	}
	return nil
}

func (w *stakeWorld) checkSelf(p *mPool) {
	if !p.validator || p.jailed {
		return
	}
	self := new(big.Int)
	if d := w.dels[[2]teg.AccountID{p.id, p.id}]; d != nil {
		self = p.value(d)
	}
	if self.Cmp(w.params.Staking.MinSelfStake.Big()) < 0 {
		p.jailed = true
	}
}

func (w *stakeWorld) stake(a, validator teg.AccountID) {
	amount := w.amount("amount")
	c := teg.Command{Kind: teg.KindStake, ID: w.id(), From: a, Amount: amount, Staking: &teg.StakingArgs{Validator: validator}}
	target := validator
	if target == "" {
		target = w.ownPool(a)
	}
	p := w.pools[target]
	want := ""
	switch {
	case amount.Cmp(w.params.Staking.MinStake) < 0:
		want = "STAKE_BELOW_MINIMUM"
	case target != teg.PassivePool && (p == nil || !p.validator):
		want = "VALIDATOR_NOT_FOUND"
	case p != nil && p.jailed:
		want = "VALIDATOR_JAILED"
	case p != nil && p.total().Sign() == 0 && (p.sp.Sign() > 0 || p.sc.Sign() > 0) && w.wouldUseEmptyClass(p, a):
		want = "VALIDATOR_EMPTY"
	case amount.Cmp(w.liquid(a)) > 0:
		want = "INSUFFICIENT_BALANCE"
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	if p == nil {
		p = newPool(teg.PassivePool, false, 0)
		w.pools[teg.PassivePool] = p
	}
	w.startClock()
	w.bond(p, a, amount.Big())
}

// wouldUseEmptyClass reports whether bonding to p would mint shares in a class whose tokens a
// slash took entirely.
func (w *stakeWorld) wouldUseEmptyClass(p *mPool, a teg.AccountID) bool {
	compound := false
	if d := w.dels[[2]teg.AccountID{a, p.id}]; d != nil {
		compound = d.compound
	}
	t, s := p.class(compound)
	return s.Sign() > 0 && t.Sign() == 0
}

func (w *stakeWorld) unstake() {
	a := w.agent("agent")
	validator := teg.AccountID("")
	if k, ok := w.existing("delegation", false); ok {
		a = k[0]
		if k[1] != w.ownPool(a) {
			validator = k[1]
		}
	} else if rapid.Bool().Draw(w.rt, "named") {
		validator = w.validatorName("validator")
	}
	target := validator
	if target == "" {
		target = w.ownPool(a)
	}
	p := w.pools[target]
	d := w.dels[[2]teg.AccountID{a, target}]
	var amount avt.Amount
	if d != nil && rapid.IntRange(0, 3).Draw(w.rt, "own") > 0 {
		amount = w.part("amount", p.value(d))
	} else {
		amount = w.amount("amount")
	}
	c := teg.Command{Kind: teg.KindUnstake, ID: w.id(), From: a, Amount: amount, Staking: &teg.StakingArgs{Validator: validator}}
	want := ""
	switch {
	case amount.IsZero():
		want = "INVALID_AMOUNT"
	case d == nil || d.shares.Sign() == 0:
		want = "DELEGATION_NOT_FOUND"
	case amount.Big().Cmp(p.value(d)) > 0:
		want = "UNSTAKE_EXCEEDS_STAKE"
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	w.unbond(p, a, amount.Big())
	w.checkSelf(p)
	w.entries = append(w.entries, &mEntry{id: c.ID, delegator: a, pool: target, balance: amount.Big(),
		completes: w.now().Truncate(time.Microsecond).Add(time.Duration(w.params.Staking.UnbondingSeconds) * time.Second)})
}

func (w *stakeWorld) redelegate() {
	a := w.agent("agent")
	src, dst := w.validatorName("src"), w.validatorName("dst")
	amount := w.amount("amount")
	if k, ok := w.existing("delegation", true); ok {
		a, src = k[0], k[1]
		amount = w.part("amount", w.pools[src].value(w.dels[k]))
		var others []teg.AccountID
		for id, p := range w.pools {
			if p.validator && id != src {
				others = append(others, id)
			}
		}
		slices.Sort(others)
		if len(others) > 0 && rapid.IntRange(0, 5).Draw(w.rt, "other") > 0 {
			dst = rapid.SampledFrom(others).Draw(w.rt, "dst_other")
		}
	}
	c := teg.Command{Kind: teg.KindRedelegate, ID: w.id(), From: a, Amount: amount, Staking: &teg.StakingArgs{Validator: src, To: dst}}
	ps, pd := w.pools[src], w.pools[dst]
	d := w.dels[[2]teg.AccountID{a, src}]
	hop := false
	for _, r := range w.redels {
		if r.delegator == a && r.to == src && w.now().Before(r.completes) {
			hop = true
		}
	}
	want := ""
	switch {
	case amount.IsZero():
		want = "INVALID_AMOUNT"
	case src == dst:
		want = "SAME_VALIDATOR"
	case amount.Cmp(w.params.Staking.MinStake) < 0:
		want = "STAKE_BELOW_MINIMUM"
	case ps == nil || !ps.validator:
		want = "VALIDATOR_NOT_FOUND"
	case pd == nil || !pd.validator:
		want = "VALIDATOR_NOT_FOUND"
	case pd.jailed:
		want = "VALIDATOR_JAILED"
	case hop:
		want = "REDELEGATION_IN_PROGRESS"
	case d == nil || d.shares.Sign() == 0:
		want = "DELEGATION_NOT_FOUND"
	case amount.Big().Cmp(ps.value(d)) > 0:
		want = "UNSTAKE_EXCEEDS_STAKE"
	case w.wouldUseEmptyClass(pd, a):
		want = "VALIDATOR_EMPTY"
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	w.unbond(ps, a, amount.Big())
	w.checkSelf(ps)
	w.bond(pd, a, amount.Big())
	w.redels = append(w.redels, mRedel{delegator: a, to: dst, completes: w.now().Truncate(time.Microsecond).Add(time.Duration(w.params.Staking.UnbondingSeconds) * time.Second)})
}

func (w *stakeWorld) createValidator() {
	a := w.agent("agent")
	amount := avt.AVT(uint64(rapid.IntRange(1000, 2200).Draw(w.rt, "self_stake")))
	if rapid.IntRange(0, 5).Draw(w.rt, "low") == 0 {
		amount = w.amount("self_stake")
	}
	commission := uint64(rapid.IntRange(0, 3000).Draw(w.rt, "commission"))
	c := teg.Command{Kind: teg.KindValidatorCreate, ID: w.id(), From: a, Amount: amount, Staking: &teg.StakingArgs{CommissionBps: &commission}}
	want := ""
	switch {
	case w.pools[a] != nil && w.pools[a].validator:
		want = "VALIDATOR_EXISTS"
	case amount.Cmp(w.params.Staking.MinSelfStake) < 0:
		want = "SELF_STAKE_BELOW_MINIMUM"
	case amount.Cmp(w.liquid(a)) > 0:
		want = "INSUFFICIENT_BALANCE"
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	p := newPool(a, true, commission)
	w.pools[a] = p
	w.startClock()
	w.bond(p, a, amount.Big())
}

func (w *stakeWorld) editCommission() {
	a := w.validatorName("validator")
	next := uint64(rapid.IntRange(0, 10001).Draw(w.rt, "commission"))
	if p := w.pools[a]; p != nil && rapid.Bool().Draw(w.rt, "near") {
		next = max(p.commission, 50) - 50 + uint64(rapid.IntRange(0, 100).Draw(w.rt, "delta"))
	}
	c := teg.Command{Kind: teg.KindValidatorEdit, ID: w.id(), From: a, Staking: &teg.StakingArgs{CommissionBps: &next}}
	p := w.pools[a]
	want := ""
	switch {
	case next > 10000:
		want = "INVALID_COMMISSION"
	case p == nil || !p.validator:
		want = "VALIDATOR_NOT_FOUND"
	case next > p.commission+w.params.Staking.MaxCommissionChangeBps || next+w.params.Staking.MaxCommissionChangeBps < p.commission:
		want = "COMMISSION_CHANGE_TOO_LARGE"
	case !p.setAt.IsZero() && w.now().Before(p.setAt.Add(24*time.Hour)):
		want = "COMMISSION_CHANGE_TOO_SOON"
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	p.commission, p.setAt = next, w.now().Truncate(time.Microsecond)
}

func (w *stakeWorld) slash() {
	v := w.validatorName("validator")
	f := uint64(rapid.SampledFrom([]int{1, 500, 3333, 10000}).Draw(w.rt, "fraction"))
	c := teg.Command{Kind: teg.KindSlash, ID: w.id(), Staking: &teg.StakingArgs{Validator: v, FractionBps: f, Burn: rapid.Bool().Draw(w.rt, "burn")}}
	p := w.pools[v]
	want := ""
	if p == nil || !p.validator {
		want = "VALIDATOR_NOT_FOUND"
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	for _, t := range []*big.Int{p.tp, p.tc} {
		cut := new(big.Int).Mul(t, big.NewInt(int64(f)))
		t.Sub(t, cut.Quo(cut, big.NewInt(10000)))
	}
	for _, e := range w.entries {
		if e.pool == v {
			cut := new(big.Int).Mul(e.balance, big.NewInt(int64(f)))
			e.balance.Sub(e.balance, cut.Quo(cut, big.NewInt(10000)))
		}
	}
	w.checkSelf(p)
}

func (w *stakeWorld) compound() {
	a := w.agent("agent")
	on := rapid.Bool().Draw(w.rt, "on")
	target := w.ownPool(a)
	validator := teg.AccountID("")
	if rapid.Bool().Draw(w.rt, "named") {
		validator = w.validatorName("validator")
		target = validator
	}
	c := teg.Command{Kind: teg.KindCompound, ID: w.id(), From: a, Staking: &teg.StakingArgs{Validator: validator, Compound: on}}
	d := w.dels[[2]teg.AccountID{a, target}]
	p := w.pools[target]
	want := ""
	if d == nil || d.shares.Sign() == 0 {
		want = "DELEGATION_NOT_FOUND"
	} else if d.compound != on {
		value := p.value(d)
		nt, ns := p.class(on)
		if value.Sign() > 0 && ns.Sign() > 0 && nt.Sign() == 0 {
			want = "VALIDATOR_EMPTY"
		}
	}
	_, err := w.do(c)
	if !w.expect(c, err, want) || d.compound == on {
		return
	}
	value := p.value(d)
	t, s := p.class(d.compound)
	t.Sub(t, value)
	s.Sub(s, d.shares)
	if s.Sign() == 0 && t.Sign() > 0 {
		t.SetInt64(0)
	}
	d.shares = new(big.Int)
	d.compound = on
	if value.Sign() == 0 {
		return
	}
	nt, ns := p.class(on)
	minted := new(big.Int).Set(value)
	if ns.Sign() > 0 {
		minted.Mul(value, ns).Quo(minted, nt)
	}
	nt.Add(nt, value)
	ns.Add(ns, minted)
	d.shares = minted
}

func (w *stakeWorld) claim() {
	a := w.agent("agent")
	if k, ok := w.existing("claimer", false); ok {
		a = k[0]
	}
	c := teg.Command{Kind: teg.KindClaim, ID: w.id(), From: a, Staking: &teg.StakingArgs{}}
	total := new(big.Int)
	for k, d := range w.dels {
		if k[0] == a {
			total.Add(total, new(big.Int).Quo(d.accrued, teg.RewardScale))
		}
	}
	if p := w.pools[a]; p != nil {
		total.Add(total, p.earned)
	}
	want := ""
	if total.Sign() == 0 {
		want = "NOTHING_TO_CLAIM"
	}
	tr, err := w.do(c)
	if !w.expect(c, err, want) {
		return
	}
	if tr.Amount.Big().Cmp(total) != 0 {
		w.rt.Fatalf("claim paid %s, the model says %s units", tr.Amount, total)
	}
	for k, d := range w.dels {
		if k[0] == a {
			q := new(big.Int).Quo(d.accrued, teg.RewardScale)
			d.accrued.Sub(d.accrued, new(big.Int).Mul(q, teg.RewardScale))
			d.exact.Sub(d.exact, new(big.Rat).SetInt(q))
		}
	}
	if p := w.pools[a]; p != nil {
		p.earned.SetInt64(0)
	}
}

// transfer pays a fee, which feeds the reward pools.
func (w *stakeWorld) transfer() {
	a, b := w.agent("from"), w.agent("to")
	if a == b {
		return
	}
	amount := avt.AVT(uint64(rapid.IntRange(1, 200).Draw(w.rt, "pay")))
	w.do(teg.Command{Kind: teg.KindTransfer, ID: w.id(), From: a, To: b, Amount: amount})
}

// advance moves the clock, then pays every due epoch and releases every due entry, as the
// scheduler does.
func (w *stakeWorld) advance() {
	w.clock.Add(int64(time.Duration(rapid.IntRange(1, 200).Draw(w.rt, "seconds")) * time.Second))
	length := time.Duration(w.params.Staking.EpochSeconds) * time.Second
	for !w.ended.IsZero() && !w.now().Before(w.ended.Add(length)) {
		w.payEpoch()
	}
	// An early epoch is refused.
	if !w.ended.IsZero() {
		c := teg.Command{Kind: teg.KindEpoch, ID: w.id(), Staking: &teg.StakingArgs{Epoch: w.epoch + 1}}
		_, err := w.do(c)
		w.expect(c, err, "EPOCH_NOT_DUE")
	}
	keep := w.entries[:0]
	for _, e := range w.entries {
		if w.now().Before(e.completes) {
			keep = append(keep, e)
			continue
		}
		c := teg.Command{Kind: teg.KindRelease, ID: "release:" + e.id, Staking: &teg.StakingArgs{Entry: string(e.delegator) + "/" + e.id}}
		tr := w.mustDo(c)
		if tr.Amount.Big().Cmp(e.balance) != 0 {
			w.rt.Fatalf("release of %s paid %s, the model says %s units", e.id, tr.Amount, e.balance)
		}
		stakeStats.releases.Add(1)
	}
	w.entries = keep
}

// payEpoch runs the next epoch and pays it in the model, delegation by delegation.
func (w *stakeWorld) payEpoch() {
	pot := w.liquid(teg.StakingPool).Big()
	vpot := w.liquid(teg.ValidatorPool).Big()
	treasury := w.liquid(teg.Treasury).Big()
	c := teg.Command{Kind: teg.KindEpoch, ID: fmt.Sprintf("epoch:%d", w.epoch+1), Staking: &teg.StakingArgs{Epoch: w.epoch + 1}}
	if tr := w.mustDo(c); !tr.Amount.IsZero() {
		stakeStats.epochsPaying.Add(1)
	}
	w.epoch++
	w.ended = w.ended.Add(time.Duration(w.params.Staking.EpochSeconds) * time.Second)
	var ids []teg.AccountID
	eligible, validators, bonded := new(big.Int), new(big.Int), new(big.Int)
	for id, p := range w.pools {
		bonded.Add(bonded, p.total())
		if p.jailed || p.total().Sign() == 0 {
			continue
		}
		ids = append(ids, id)
		eligible.Add(eligible, p.total())
		if p.validator {
			validators.Add(validators, p.total())
		}
	}
	slices.Sort(ids)
	emission := new(big.Int)
	if eligible.Sign() > 0 {
		emission.Mul(bonded, big.NewInt(int64(w.params.Staking.EmissionAPRBps)*w.params.Staking.EpochSeconds))
		emission.Quo(emission, big.NewInt(10000*365*24*3600))
		if emission.Cmp(treasury) > 0 {
			emission.Set(treasury)
		}
	}
	pot.Add(pot, emission)
	for _, id := range ids {
		p := w.pools[id]
		share := new(big.Int).Mul(pot, p.total())
		share.Quo(share, eligible)
		if p.validator && validators.Sign() > 0 {
			v := new(big.Int).Mul(vpot, p.total())
			p.earned.Add(p.earned, v.Quo(v, validators))
		}
		commission := new(big.Int)
		if p.validator {
			commission.Mul(share, big.NewInt(int64(p.commission))).Quo(commission, big.NewInt(10000))
			p.earned.Add(p.earned, commission)
		}
		rest := new(big.Int).Sub(share, commission)
		toC := new(big.Int).Mul(rest, p.tc)
		toC.Quo(toC, p.total())
		toP := new(big.Int).Sub(rest, toC)
		if p.sp.Sign() == 0 {
			toC.Add(toC, toP)
			toP.SetInt64(0)
		}
		p.tc.Add(p.tc, toC)
		if toP.Sign() == 0 {
			continue
		}
		num := new(big.Int).Mul(toP, teg.RewardScale)
		num.Add(num, p.residual)
		rho, res := new(big.Int).QuoRem(num, p.sp, new(big.Int))
		p.residual = res
		// The brute force: every plain delegation of the pool, one by one.
		for k, d := range w.dels {
			if k[1] != id || d.compound {
				continue
			}
			d.accrued.Add(d.accrued, new(big.Int).Mul(d.shares, rho))
			d.exact.Add(d.exact, new(big.Rat).SetFrac(new(big.Int).Mul(toP, d.shares), p.sp))
		}
	}
}

// check compares the ledger's staking records with the model and verifies the ledger.
func (w *stakeWorld) check() {
	ctx := context.Background()
	for id, p := range w.pools {
		text, ok, err := w.l.State(ctx, teg.PoolKey(id))
		if err != nil || !ok {
			w.rt.Fatalf("pool %s: %v (found %v)", id, err, ok)
		}
		sp, err := teg.DecodePool(text)
		if err != nil {
			w.rt.Fatal(err)
		}
		if sp.Tokens.Big().Cmp(p.tp) != 0 || sp.CTokens.Big().Cmp(p.tc) != 0 || sp.Shares.Cmp(p.sp) != 0 || sp.CShares.Cmp(p.sc) != 0 {
			w.rt.Fatalf("pool %s: ledger tokens %s/%s shares %s/%s, model %s/%s %s/%s", id, sp.Tokens, sp.CTokens, sp.Shares, sp.CShares, p.tp, p.tc, p.sp, p.sc)
		}
		if sp.Jailed != p.jailed || sp.Earned.Big().Cmp(p.earned) != 0 || sp.Residual.Cmp(p.residual) != 0 {
			w.rt.Fatalf("pool %s: ledger jailed %v earned %s residual %s, model %v %s %s", id, sp.Jailed, sp.Earned, sp.Residual, p.jailed, p.earned, p.residual)
		}
		for k, d := range w.dels {
			if k[1] != id {
				continue
			}
			text, ok, err := w.l.State(ctx, teg.DelegationKey(k[0], k[1]))
			if err != nil || !ok {
				w.rt.Fatalf("delegation %v: %v (found %v)", k, err, ok)
			}
			sd, err := teg.DecodeDelegation(text)
			if err != nil {
				w.rt.Fatal(err)
			}
			if sd.Shares.Cmp(d.shares) != 0 || sd.Compound != d.compound || sp.Value(sd).Big().Cmp(p.value(d)) != 0 {
				w.rt.Fatalf("delegation %v: ledger %s shares (compound %v) worth %s, model %s (%v) worth %s", k, sd.Shares, sd.Compound, sp.Value(sd), d.shares, d.compound, p.value(d))
			}
			got := sp.PendingReward(sd)
			if got.Cmp(d.accrued) != 0 {
				w.rt.Fatalf("delegation %v: F1 reward %s (scaled), brute force %s", k, got, d.accrued)
			}
			// Within one base unit of the exact rational pro-rata sum.
			diff := new(big.Rat).Sub(new(big.Rat).SetFrac(got, teg.RewardScale), d.exact)
			if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
				w.rt.Fatalf("delegation %v: reward %s is not within a base unit of the exact %s", k, new(big.Rat).SetFrac(got, teg.RewardScale).FloatString(6), d.exact.FloatString(6))
			}
		}
	}
	all, err := w.l.ScanState(ctx, "del/", 0)
	if err != nil {
		w.rt.Fatal(err)
	}
	if len(all) != len(w.dels) {
		w.rt.Fatalf("the ledger has %d delegations, the model %d", len(all), len(w.dels))
	}
	if _, err := w.l.Verify(ctx); err != nil {
		w.rt.Fatalf("verify: %v", err)
	}
}
