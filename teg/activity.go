package teg

import (
	"encoding/json"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// Activity is what a group of committed ledger changes did, in the figures an operator charts:
// value moved, fees, staking rewards paid, disputes opened and resolved. It is computed from
// the changes alone (no reads), so the process that committed them reports each exactly once.
type Activity struct {
	// Transfers counts the movements of value between accounts: plain transfers and the posts
	// of pending transfers (a pending transfer moves nothing until it is posted).
	Transfers int
	// Volume is the sum of their amounts, and Fees the sum of the fees they paid.
	Volume, Fees avt.Amount
	// RewardsPaid is the staking rewards paid out of the Rewards account (claims, compounds
	// and the payout of a closed delegation).
	RewardsPaid avt.Amount
	// DisputesOpened counts disputes filed.
	DisputesOpened int
	// Resolutions holds, for each dispute that reached a final state (closed, withdrawn,
	// rejected, expired), the time from its filing to that state.
	Resolutions []time.Duration
}

// Empty reports whether the activity holds nothing to report.
func (a *Activity) Empty() bool {
	return a.Transfers == 0 && a.RewardsPaid.IsZero() && a.Fees.IsZero() && a.DisputesOpened == 0 && len(a.Resolutions) == 0
}

// ActivityOf tallies the activity of committed changes. Sums saturate at the largest Amount
// rather than wrap (they are figures to chart, not balances).
func ActivityOf(ch *Changes) Activity {
	var a Activity
	for i := range ch.Transfers {
		t := &ch.Transfers[i]
		if t.Kind != KindTransfer && t.Kind != KindPost {
			continue
		}
		a.Transfers++
		a.Volume = saturatingAdd(a.Volume, t.Amount)
		a.Fees = saturatingAdd(a.Fees, t.Fee)
	}
	for i := range ch.Events {
		ev := &ch.Events[i]
		if isStakingKind(ev.Kind) {
			for _, p := range ev.Postings {
				if p.Account == Rewards && p.Debit {
					a.RewardsPaid = saturatingAdd(a.RewardsPaid, p.Amount)
				}
			}
			continue
		}
		if !isDisputeKind(ev.Kind) {
			continue
		}
		if ev.Kind == KindDisputeFile {
			a.DisputesOpened++
			continue
		}
		switch DisputeState(ev.Data["state"]) {
		case DisputeClosed, DisputeWithdrawn, DisputeRejected, DisputeExpired:
		default:
			continue
		}
		var d struct {
			FiledAt time.Time `json:"filed_at"`
		}
		if err := json.Unmarshal([]byte(ev.Data[stateDataPrefix+DisputeKey(ev.Data["dispute"])]), &d); err == nil && !d.FiledAt.IsZero() {
			a.Resolutions = append(a.Resolutions, max(ev.Time.Sub(d.FiledAt), 0))
		}
	}
	return a
}
