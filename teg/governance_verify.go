package teg

import (
	"fmt"
	"strings"

	"github.com/sovereign-stack/sovereign/avt"
)

// CheckGovernance checks that the proposals account for GovDeposits to the base unit: it holds
// the deposit of every proposal still being voted on (the others were returned or burnt).
// balance returns an account's liquid balance.
func CheckGovernance(state []StateEntry, balance func(AccountID) avt.Amount) error {
	var held avt.Amount
	for _, e := range state {
		if !strings.HasPrefix(e.Key, prefixProposal) {
			continue
		}
		p, err := DecodeProposal(e.Value)
		if err != nil {
			return err
		}
		if ProposalKey(p.ID) != e.Key {
			return fmt.Errorf("governance: proposal %d stored under %s", p.ID, e.Key)
		}
		if p.Status == StatusVoting {
			held, _ = held.Add(p.Deposit)
		}
	}
	if got := balance(GovDeposits); got != held {
		return fmt.Errorf("governance: %s holds %s, the proposals being voted on deposited %s", GovDeposits, got, held)
	}
	return nil
}
