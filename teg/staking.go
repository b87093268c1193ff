package teg

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// Staking lives in the ledger's state machine (see Ledger.Apply): its commands are ledger
// commands, its token movements are postings of the same hash-chained log, and its records —
// pools, delegations, unbonding and redelegation entries, the epoch clock — are keyed state whose
// every change the log's events carry (StateReader). The model follows Cosmos x/staking and
// x/distribution:
//
//   - Every bonded token sits in a pool: a validator's (its operator's self-stake and its
//     delegators'), or the passive pool that holds the stake of agents who stake without a
//     validator. A delegation holds shares of its pool; the tokens it is worth are
//     shares × pool tokens / pool shares, so a slash, which lowers the pool's tokens, lowers every
//     share at once. The tokens are in the system account Bonded.
//   - A pool has two classes of shares: plain ones earn rewards to claim, compounding ones
//     (auto-compound on) earn rewards that are added to their class's tokens, so every compounding
//     delegation grows at once.
//   - Rewards use the F1 method: a pool keeps the cumulative reward per plain share; a delegation
//     remembers the value when it last settled, and its reward is shares × (now − then). An
//     epoch therefore costs O(pools), whatever the number of delegators. Because the accumulator
//     counts per share rather than per token, a slash (which changes tokens, not shares) needs
//     no separate reward period. What the per-share precision (RewardScale) cannot express is
//     kept in the pool's residual and paid at the next epoch: no base unit is lost.
//   - Unstaking moves tokens to the system account Unbonding as an entry released after the
//     unbonding period; entries stay slashable until then.

// The system accounts of staking.
const (
	// Bonded holds every bonded token (Σ of the pools' tokens).
	Bonded AccountID = "sys:bonded"
	// UnbondingPool holds every unbonding token (Σ of the unbonding entries' balances).
	UnbondingPool AccountID = "sys:unbonding"
	// Rewards holds the rewards paid out by epochs and not yet claimed.
	Rewards AccountID = "sys:rewards"
)

// PassivePool is the id of the pool that holds the stake of agents who are not validators.
const PassivePool AccountID = "passive"

// RewardScale is the precision of the per-share reward accumulator: rewards are counted in
// 10^-36 base units per share.
var RewardScale = new(big.Int).Exp(big.NewInt(10), big.NewInt(36), nil)

// The staking commands (see Command.Staking for their arguments).
const (
	// KindStake bonds Amount of From's liquid AVT: to the validator Staking.Validator (a
	// delegation), or with no validator named to From's own validator if it is one, else to the
	// passive pool.
	KindStake Kind = "stake"
	// KindUnstake starts unbonding Amount of From's stake with Staking.Validator (none: its own
	// stake, as KindStake chose the pool).
	KindUnstake Kind = "unstake"
	// KindRedelegate moves Amount of From's stake from Staking.Validator to Staking.To at once.
	KindRedelegate Kind = "redelegate"
	// KindValidatorCreate makes From a validator with a self-stake of Amount.
	KindValidatorCreate Kind = "validator_create"
	// KindValidatorEdit sets the commission of From's validator.
	KindValidatorEdit Kind = "validator_edit"
	// KindUnjail returns From's jailed validator to the active set.
	KindUnjail Kind = "unjail"
	// KindClaim pays From its rewards (of Staking.Validator's pool only, when named) and, for a
	// validator's operator, its commission.
	KindClaim Kind = "claim"
	// KindCompound turns auto-compounding of From's delegation to Staking.Validator on or off.
	KindCompound Kind = "compound"
	// KindEpoch pays the rewards of epoch Staking.Epoch.
	KindEpoch Kind = "epoch"
	// KindRelease pays a completed unbonding entry (Staking.Entry) back to its delegator.
	KindRelease Kind = "release"
	// KindSlash takes Staking.FractionBps of a validator's bonded and unbonding stake.
	KindSlash Kind = "slash"
)

// StakingArgs are the arguments of a staking command.
type StakingArgs struct {
	Validator AccountID `json:"validator,omitempty"`
	// To is the destination validator of a redelegation.
	To AccountID `json:"to,omitempty"`
	// CommissionBps is a validator's commission (KindValidatorEdit; KindValidatorCreate, where
	// nil means the default).
	CommissionBps *uint64 `json:"commission_bps,omitempty"`
	// Compound is the auto-compound setting of KindCompound.
	Compound bool `json:"compound,omitempty"`
	// Epoch is the number of the epoch KindEpoch pays.
	Epoch uint64 `json:"epoch,omitempty"`
	// Entry is the unbonding entry KindRelease pays.
	Entry string `json:"entry,omitempty"`
	// FractionBps is the share of stake a slash takes, in basis points (1 to 10000).
	FractionBps uint64 `json:"fraction_bps,omitempty"`
	// Burn sends a slash's tokens to the burn sink instead of the treasury.
	Burn bool `json:"burn,omitempty"`
}

// Pool is a validator's stake (or the passive pool's): its tokens and shares in two classes,
// its reward accumulator and its operator's terms.
type Pool struct {
	ID        AccountID `json:"id"`
	Validator bool      `json:"validator"`
	// Tokens and Shares are the plain class; CTokens and CShares the compounding class.
	Tokens  avt.Amount `json:"tokens"`
	Shares  *big.Int   `json:"shares"`
	CTokens avt.Amount `json:"ctokens"`
	CShares *big.Int   `json:"cshares"`
	// Reward is the cumulative reward per plain share, in RewardScale units; Residual is what
	// the last epochs paid into Rewards for this pool and the accumulator could not yet express
	// (scaled).
	Reward   *big.Int `json:"reward"`
	Residual *big.Int `json:"residual"`
	// CommissionBps is the operator's commission; CommissionSetAt when it was last changed
	// (zero: never).
	CommissionBps   uint64    `json:"commission_bps"`
	CommissionSetAt time.Time `json:"commission_set_at,omitzero"`
	Jailed          bool      `json:"jailed,omitempty"`
	// Earned is the operator's unclaimed commission and validator-pool income.
	Earned avt.Amount `json:"earned"`
	// Delegators counts the delegations to the pool.
	Delegators int `json:"delegators"`
	// Epochs counts the epochs paid since a validator was created, Active those in which it was
	// not jailed: its uptime as the ledger knows it.
	Epochs    uint64    `json:"epochs,omitempty"`
	Active    uint64    `json:"active,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// TotalTokens is the pool's bonded tokens, both classes.
func (p *Pool) TotalTokens() avt.Amount {
	t, _ := p.Tokens.Add(p.CTokens)
	return t
}

// Delegation is one delegator's shares of one pool.
type Delegation struct {
	Delegator AccountID `json:"delegator"`
	Validator AccountID `json:"validator"`
	// Shares are in the pool's compounding class when Compound, else in its plain class.
	Shares   *big.Int `json:"shares"`
	Compound bool     `json:"compound,omitempty"`
	// RewardStart is the pool's Reward when the delegation last settled; Accrued its rewards
	// settled and not claimed (scaled by RewardScale).
	RewardStart *big.Int  `json:"reward_start"`
	Accrued     *big.Int  `json:"accrued"`
	CreatedAt   time.Time `json:"created_at"`
}

// UnbondingEntry is stake on its way back to its delegator's liquid balance.
type UnbondingEntry struct {
	ID          string     `json:"id"`
	Delegator   AccountID  `json:"delegator"`
	Validator   AccountID  `json:"validator"`
	Initial     avt.Amount `json:"initial"`
	Balance     avt.Amount `json:"balance"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletesAt time.Time  `json:"completes_at"`
}

// Redelegation records stake moved to a validator; until CompletesAt it may not move again.
type Redelegation struct {
	ID          string     `json:"id"`
	Delegator   AccountID  `json:"delegator"`
	From        AccountID  `json:"from"`
	To          AccountID  `json:"to"`
	Amount      avt.Amount `json:"amount"`
	CompletesAt time.Time  `json:"completes_at"`
}

// EpochClock is where the epochs stand: the last epoch paid and when it ended. Epoch n+1 ends
// one epoch length after epoch n; a scheduler that was down pays every missed epoch, in order.
type EpochClock struct {
	Epoch   uint64    `json:"epoch"`
	EndedAt time.Time `json:"ended_at"`
}

// The keys of the staking records.
const (
	keyEpoch          = "epoch"
	prefixPool        = "pool/"
	prefixDelegation  = "del/"
	prefixUnbonding   = "ubd/"
	prefixUnbondQueue = "ubq/"
	prefixUnbondByVal = "ubv/"
	prefixRedelegate  = "red/"
)

// PoolKey is the key of a pool's record.
func PoolKey(id AccountID) string { return prefixPool + string(id) }

// DelegationKey is the key of a delegation's record.
func DelegationKey(delegator, pool AccountID) string {
	return prefixDelegation + string(delegator) + "/" + string(pool)
}

// DelegationsPrefix is the prefix of a delegator's delegations.
func DelegationsPrefix(delegator AccountID) string { return prefixDelegation + string(delegator) + "/" }

// PoolsPrefix is the prefix of every pool record.
const PoolsPrefix = prefixPool

// UnbondingPrefix is the prefix of a delegator's unbonding entries.
func UnbondingPrefix(delegator AccountID) string { return prefixUnbonding + string(delegator) + "/" }

// UnbondingQueuePrefix is the prefix of the unbonding queue (keys ordered by completion time,
// each naming the entry as "delegator/id").
const UnbondingQueuePrefix = prefixUnbondQueue

// EpochKey is the key of the epoch clock.
const EpochKey = keyEpoch

func unbondingKey(delegator AccountID, id string) string { return UnbondingPrefix(delegator) + id }

func unbondQueueKey(at time.Time, id string) string {
	return fmt.Sprintf("%s%020d/%s", prefixUnbondQueue, at.UnixMicro(), id)
}

func unbondByValKey(val AccountID, id string) string {
	return prefixUnbondByVal + string(val) + "/" + id
}

func redelegationPrefix(delegator, to AccountID) string {
	return prefixRedelegate + string(delegator) + "/" + string(to) + "/"
}

// The errors of staking. Each is refused before anything moves.
var (
	ErrStakeBelowMinimum     = apperr.New(apperr.Invalid, "STAKE_BELOW_MINIMUM", "the amount is below the minimum stake")
	ErrSelfStakeBelowMinimum = apperr.New(apperr.Invalid, "SELF_STAKE_BELOW_MINIMUM", "a validator needs at least the minimum self-stake")
	ErrUnstakeExceedsStake   = apperr.New(apperr.Invalid, "UNSTAKE_EXCEEDS_STAKE", "the amount is more than the stake")
	ErrNoDelegation          = apperr.New(apperr.NotFound, "DELEGATION_NOT_FOUND", "no stake with this validator")
	ErrNotValidator          = apperr.New(apperr.NotFound, "VALIDATOR_NOT_FOUND", "no such validator")
	ErrValidatorJailed       = apperr.New(apperr.Conflict, "VALIDATOR_JAILED", "the validator is jailed")
	ErrValidatorNotJailed    = apperr.New(apperr.Conflict, "VALIDATOR_NOT_JAILED", "the validator is not jailed")
	ErrValidatorExists       = apperr.New(apperr.Conflict, "VALIDATOR_EXISTS", "the agent is a validator already")
	ErrValidatorEmpty        = apperr.New(apperr.Conflict, "VALIDATOR_EMPTY", "the validator's stake was slashed to nothing")
	ErrInvalidCommission     = apperr.New(apperr.Invalid, "INVALID_COMMISSION", "commission must be 0 to 10000 basis points")
	ErrCommissionTooLarge    = apperr.New(apperr.Invalid, "COMMISSION_CHANGE_TOO_LARGE", "the commission changes by more than the daily limit")
	ErrCommissionTooSoon     = apperr.New(apperr.Conflict, "COMMISSION_CHANGE_TOO_SOON", "the commission changed less than 24 hours ago")
	ErrRedelegationHop       = apperr.New(apperr.Conflict, "REDELEGATION_IN_PROGRESS", "stake redelegated to this validator cannot move again until its redelegation completes")
	ErrSameValidator         = apperr.New(apperr.Invalid, "SAME_VALIDATOR", "source and destination validator must differ")
	ErrNothingToClaim        = apperr.New(apperr.Conflict, "NOTHING_TO_CLAIM", "there are no rewards to claim")
	ErrEpochOutOfOrder       = apperr.New(apperr.Conflict, "EPOCH_OUT_OF_ORDER", "epochs are paid one after the other")
	ErrEpochNotDue           = apperr.New(apperr.Conflict, "EPOCH_NOT_DUE", "the epoch has not ended yet")
	ErrUnbondingNotFound     = apperr.New(apperr.NotFound, "UNBONDING_NOT_FOUND", "no such unbonding entry")
	ErrUnbondingNotDue       = apperr.New(apperr.Conflict, "UNBONDING_NOT_COMPLETE", "the unbonding period has not ended")
	ErrInvalidFraction       = apperr.New(apperr.Invalid, "INVALID_FRACTION", "fraction must be 1 to 10000 basis points")
)

// decodeRecord decodes a staking record's text into v.
func decodeRecord[T any](key, text string) (*T, error) {
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, apperr.Internalf("staking record %s: %w", key, err)
	}
	return &v, nil
}

// encodeRecord is the canonical text of a staking record.
func encodeRecord(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // plain values only
		panic(err)
	}
	return string(b)
}

// DecodePool decodes a pool record.
func DecodePool(text string) (*Pool, error) {
	p, err := decodeRecord[Pool]("pool", text)
	if err != nil {
		return nil, err
	}
	p.norm()
	return p, nil
}

// DecodeDelegation decodes a delegation record.
func DecodeDelegation(text string) (*Delegation, error) {
	d, err := decodeRecord[Delegation]("delegation", text)
	if err != nil {
		return nil, err
	}
	d.norm()
	return d, nil
}

// DecodeUnbonding decodes an unbonding entry.
func DecodeUnbonding(text string) (*UnbondingEntry, error) {
	return decodeRecord[UnbondingEntry]("unbonding", text)
}

// DecodeEpochClock decodes the epoch clock.
func DecodeEpochClock(text string) (*EpochClock, error) {
	return decodeRecord[EpochClock]("epoch", text)
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

func (p *Pool) norm() {
	p.Shares, p.CShares, p.Reward, p.Residual = orZero(p.Shares), orZero(p.CShares), orZero(p.Reward), orZero(p.Residual)
}

func (d *Delegation) norm() {
	d.Shares, d.RewardStart, d.Accrued = orZero(d.Shares), orZero(d.RewardStart), orZero(d.Accrued)
}

// class returns pointers to the tokens and shares of the class c (compounding or plain).
func (p *Pool) class(compound bool) (*avt.Amount, *big.Int) {
	if compound {
		return &p.CTokens, p.CShares
	}
	return &p.Tokens, p.Shares
}

// Value is the tokens a delegation is worth in its pool.
func (p *Pool) Value(d *Delegation) avt.Amount {
	t, s := p.class(d.Compound)
	return sharesToTokens(d.Shares, *t, s)
}

// PendingReward is the scaled reward a delegation has earned and not claimed.
func (p *Pool) PendingReward(d *Delegation) *big.Int {
	r := new(big.Int).Set(d.Accrued)
	if !d.Compound {
		r.Add(r, new(big.Int).Mul(d.Shares, new(big.Int).Sub(p.Reward, d.RewardStart)))
	}
	return r
}

// Claimable is the whole base units of a scaled reward.
func Claimable(scaled *big.Int) avt.Amount {
	a, err := avt.FromBig(new(big.Int).Quo(scaled, RewardScale))
	if err != nil {
		return avt.Max
	}
	return a
}

// sharesToTokens is floor(shares × tokens / total): what shares of a class are worth.
func sharesToTokens(shares *big.Int, tokens avt.Amount, total *big.Int) avt.Amount {
	if total.Sign() == 0 {
		return avt.Amount{}
	}
	v := new(big.Int).Mul(shares, tokens.Big())
	v.Quo(v, total)
	a, _ := avt.FromBig(v)
	return a
}

// mulDivFloor is floor(a × num / den) for den > 0.
func mulDivFloor(a avt.Amount, num, den *big.Int) avt.Amount {
	v := new(big.Int).Mul(a.Big(), num)
	v.Quo(v, den)
	r, _ := avt.FromBig(v)
	return r
}

// bps is floor(a × bps / 10000).
func bps(a avt.Amount, b uint64) avt.Amount {
	return a.MulDivFloor(b, 10000)
}

// isStakingKind reports whether k is a staking command.
func isStakingKind(k Kind) bool {
	switch k {
	case KindStake, KindUnstake, KindRedelegate, KindValidatorCreate, KindValidatorEdit, KindUnjail,
		KindClaim, KindCompound, KindEpoch, KindRelease, KindSlash:
		return true
	}
	return false
}

// appendStakingInput appends the canonical encoding of a staking command's arguments.
func (a *StakingArgs) appendCanonical(b []byte) []byte {
	if a == nil {
		return appendStr(b, "")
	}
	return appendStr(b, encodeRecord(a))
}

// validPoolName reports whether id may name a pool in a command: a validator (an agent id), or
// PassivePool (where an agent that became a validator keeps the stake it had before).
func validPoolName(id AccountID) bool {
	return id != "" && !id.IsSystem() && len(id) <= MaxIDLen && !strings.ContainsAny(string(id), "/ ")
}
