package teg

import (
	"fmt"
	"strings"

	"github.com/sovereign-stack/sovereign/avt"
)

// CheckDisputes checks that the dispute records account for DisputeEscrow to the base unit (it
// holds the fees of every dispute, and a dispute that ended holds none), that every dispute's
// state was reached by legal transitions and that every panel re-draws from its recorded seed
// and candidates. balance returns an account's liquid balance.
func CheckDisputes(state []StateEntry, balance func(AccountID) avt.Amount) error {
	var escrow avt.Amount
	for _, e := range state {
		if !strings.HasPrefix(e.Key, prefixDispute) {
			continue
		}
		d, err := DecodeDispute(e.Value)
		if err != nil {
			return err
		}
		if DisputeKey(d.ID) != e.Key {
			return fmt.Errorf("disputes: dispute %s stored under %s", d.ID, e.Key)
		}
		held := d.Escrowed()
		if d.State.Final() && (!held.IsZero() || d.Frozen) {
			return fmt.Errorf("disputes: %s ended (%s) but holds %s in escrow (frozen payment: %v)", d.ID, d.State, held, d.Frozen)
		}
		escrow, _ = escrow.Add(held)
		prev := DisputeState("")
		for i, t := range d.History {
			if t.From != prev || (i > 0 && !LegalTransition(t.From, t.To)) || (i == 0 && t.To != DisputeOpen) {
				return fmt.Errorf("disputes: %s went %q → %q, not a legal transition", d.ID, t.From, t.To)
			}
			prev = t.To
		}
		if prev != d.State {
			return fmt.Errorf("disputes: %s is %s, its history ends at %s", d.ID, d.State, prev)
		}
		for i := range d.Rounds {
			if !CheckDraw(&d.Rounds[i]) {
				return fmt.Errorf("disputes: %s round %d: the panel does not re-draw from its seed", d.ID, d.Rounds[i].Number)
			}
		}
	}
	if got := balance(DisputeEscrow); got != escrow {
		return fmt.Errorf("disputes: %s holds %s, the disputes' fees are %s", DisputeEscrow, got, escrow)
	}
	return nil
}
