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
var SystemAccounts = []AccountID{Treasury, ValidatorPool, StakingPool, Burn, Escrow, DisputeEscrow}

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
	}
	return -1
}

// IsSystem reports whether id is a system account.
func (id AccountID) IsSystem() bool { return strings.HasPrefix(string(id), "sys:") }

// Part names one of an account's sub-balances.
type Part string

// The sub-balances of an account. Liquid is spendable; Locked holds pending transfers; Staked
// and Unbonding belong to staking (a later issue).
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
	// Version increases with every change, for optimistic concurrency in adapters.
	Version uint64
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

// Total is the sum of all sub-balances.
func (a *Account) Total() avt.Amount {
	t, _ := a.Liquid.Add(a.Locked)
	t, _ = t.Add(a.Staked)
	t, _ = t.Add(a.Unbonding)
	return t
}
