package teg

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/sovereign-stack/sovereign/avt"
)

// CheckStaking checks that the staking records account for the staking system accounts to the
// base unit: Bonded holds the tokens of every pool, UnbondingPool the balance of every unbonding
// entry, and Rewards — scaled by RewardScale — every pool's residual, every delegation's unclaimed
// reward and every operator's unclaimed earnings. balance returns an account's liquid balance.
func CheckStaking(state []StateEntry, balance func(AccountID) avt.Amount) error {
	pools := map[AccountID]*Pool{}
	var bonded, unbonding avt.Amount
	rewards := new(big.Int)
	var dels []*Delegation
	for _, e := range state {
		switch {
		case strings.HasPrefix(e.Key, prefixPool):
			p, err := DecodePool(e.Value)
			if err != nil {
				return err
			}
			if PoolKey(p.ID) != e.Key {
				return fmt.Errorf("staking: pool %s stored under %s", p.ID, e.Key)
			}
			pools[p.ID] = p
			bonded, _ = bonded.Add(p.TotalTokens())
			rewards.Add(rewards, p.Residual)
			rewards.Add(rewards, new(big.Int).Mul(p.Earned.Big(), RewardScale))
		case strings.HasPrefix(e.Key, prefixDelegation):
			d, err := DecodeDelegation(e.Value)
			if err != nil {
				return err
			}
			dels = append(dels, d)
		case strings.HasPrefix(e.Key, prefixUnbonding):
			u, err := DecodeUnbonding(e.Value)
			if err != nil {
				return err
			}
			unbonding, _ = unbonding.Add(u.Balance)
		}
	}
	shares := map[AccountID][2]*big.Int{}
	counts := map[AccountID]int{}
	for _, d := range dels {
		p := pools[d.Validator]
		if p == nil {
			return fmt.Errorf("staking: delegation of %s to %s, which has no pool", d.Delegator, d.Validator)
		}
		rewards.Add(rewards, p.PendingReward(d))
		s := shares[p.ID]
		if s[0] == nil {
			s = [2]*big.Int{new(big.Int), new(big.Int)}
		}
		if d.Compound {
			s[1].Add(s[1], d.Shares)
		} else {
			s[0].Add(s[0], d.Shares)
		}
		shares[p.ID] = s
		counts[p.ID]++
	}
	ids := make([]AccountID, 0, len(pools))
	for id := range pools {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := pools[id]
		s := shares[id]
		if s[0] == nil {
			s = [2]*big.Int{new(big.Int), new(big.Int)}
		}
		if s[0].Cmp(p.Shares) != 0 || s[1].Cmp(p.CShares) != 0 {
			return fmt.Errorf("staking: pool %s has %s/%s shares, its delegations %s/%s", id, p.Shares, p.CShares, s[0], s[1])
		}
		if counts[id] != p.Delegators {
			return fmt.Errorf("staking: pool %s counts %d delegators, %d delegations exist", id, p.Delegators, counts[id])
		}
	}
	if got := balance(Bonded); got != bonded {
		return fmt.Errorf("staking: %s holds %s, the pools' tokens are %s", Bonded, got, bonded)
	}
	if got := balance(UnbondingPool); got != unbonding {
		return fmt.Errorf("staking: %s holds %s, the unbonding entries %s", UnbondingPool, got, unbonding)
	}
	if got := new(big.Int).Mul(balance(Rewards).Big(), RewardScale); got.Cmp(rewards) != 0 {
		return fmt.Errorf("staking: %s holds %s (scaled), the unclaimed rewards are %s", Rewards, got, rewards)
	}
	return nil
}
