package teg

import (
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// AccountID names an account: an agent's wallet (its agent id, e.g. "agt_…") or a system account
// ("sys:treasury", …).
type AccountID string

// The system accounts. Mint credits the treasury only; fees are split among treasury, validator
// pool, staking reward pool and burn; tokens sent to Burn are out of supply.
const (
	Treasury      AccountID = "sys:treasury"
	ValidatorPool AccountID = "sys:validator_pool"
	StakingPool   AccountID = "sys:staking_reward_pool"
	Burn          AccountID = "sys:burn"
	Escrow        AccountID = "sys:escrow"
	DisputeEscrow AccountID = "sys:dispute_escrow"
)

// SystemAccounts lists every system account; the ledger creates them on first use.
var SystemAccounts = []AccountID{Treasury, ValidatorPool, StakingPool, Burn, Escrow, DisputeEscrow, Bonded, UnbondingPool, Rewards, GovDeposits}

// SystemIndex returns id's index in SystemAccounts, or -1 when id is not a system account the
// ledger knows.
func (id AccountID) SystemIndex() int {
	switch id {
	case Treasury:
		return 0
	case ValidatorPool:
		return 1
	case StakingPool:
		return 2
	case Burn:
		return 3
	case Escrow:
		return 4
	case DisputeEscrow:
		return 5
	case Bonded:
		return 6
	case UnbondingPool:
		return 7
	case Rewards:
		return 8
	case GovDeposits:
		return 9
	}
	return -1
}

// IsSystem reports whether id is a system account.
func (id AccountID) IsSystem() bool { return strings.HasPrefix(string(id), "sys:") }

// Part names one of an account's sub-balances.
type Part string

// The sub-balances of an account. Liquid is spendable; Locked holds pending transfers. An
// agent's bonded and unbonding tokens are held by the system accounts Bonded and UnbondingPool
// (its share of them is in its delegations and unbonding entries, so that a slash lowers every
// delegation at once); the service reports them as the agent's Staked and Unbonding balances.
// The stored Staked and Unbonding parts of an account are not used by the ledger.
const (
	Liquid    Part = "liquid"
	Locked    Part = "locked"
	Staked    Part = "staked"
	Unbonding Part = "unbonding"
)

// Account is a ledger account and its balances. Balances never go negative: every change is
// checked before it is applied.
type Account struct {
	ID        AccountID
	Liquid    avt.Amount
	Locked    avt.Amount
	Staked    avt.Amount
	Unbonding avt.Amount
	CreatedAt time.Time
	// Status says whether value may leave the account (AccountActive: the zero value means it
	// too). An agent's registry suspends or revokes its wallet with KindStatus.
	Status AccountStatus
	// Spent is what the account sent in the last 24 hours, kept by the ledger to enforce daily
	// limits. Treat it as immutable: the ledger replaces it, never changes it in place, since
	// copies of an Account share it.
	Spent SpendWindow
	// Version increases with every change, for optimistic concurrency in adapters.
	Version uint64
}

// AccountStatus is the standing of an account.
type AccountStatus string

// The statuses of an account. A suspended account may receive but not send: transfers and
// pending transfers from it, and posts of its holds, are refused with ACCOUNT_SUSPENDED (its holds
// can still be voided or expire). A revoked account is closed for good: it neither sends nor
// receives, and no status change reopens it.
const (
	AccountActive    AccountStatus = "active"
	AccountSuspended AccountStatus = "suspended"
	AccountRevoked   AccountStatus = "revoked"
)

// Valid reports whether s is one of the statuses.
func (s AccountStatus) Valid() bool {
	return s == AccountActive || s == AccountSuspended || s == AccountRevoked
}

// Active reports whether value may leave the account.
func (a *Account) Active() bool { return a.Status == "" || a.Status == AccountActive }

// StatusOrActive is the account's status, AccountActive for the zero value.
func (a *Account) StatusOrActive() AccountStatus {
	if a.Status == "" {
		return AccountActive
	}
	return a.Status
}

// part returns a pointer to the sub-balance p.
func (a *Account) part(p Part) *avt.Amount {
	switch p {
	case Liquid:
		return &a.Liquid
	case Locked:
		return &a.Locked
	case Staked:
		return &a.Staked
	default:
		return &a.Unbonding
	}
}

// Total is the sum of all sub-balances (the largest amount if it overflows, which the supply
// bound rules out; CheckedTotal reports it).
func (a *Account) Total() avt.Amount {
	t, ok := a.CheckedTotal()
	if !ok {
		return avt.Max
	}
	return t
}

// CheckedTotal is the sum of all sub-balances, and false if it overflows the amount range.
func (a *Account) CheckedTotal() (avt.Amount, bool) {
	t, ok1 := a.Liquid.Add(a.Locked)
	t, ok2 := t.Add(a.Staked)
	t, ok3 := t.Add(a.Unbonding)
	return t, ok1 && ok2 && ok3
}
