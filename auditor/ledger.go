package auditor

import (
	"context"
	"fmt"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/teg"
)

// LedgerDisputes is escalation to a dispute on the ledger: the dispute filed in the stack's name
// (the treasury files and pays the fee) against the flag's subject, once per flag.
type LedgerDisputes struct{ Tokens *teg.Service }

// FileFlagDispute files the dispute of flag f and returns its id.
func (d LedgerDisputes) FileFlagDispute(ctx context.Context, f Flag) (string, error) {
	category := "other"
	switch f.Rule {
	case CircularFlow, RatingRing, SybilFunnel:
		category = "reputation_abuse"
	}
	claim := fmt.Sprintf("The auditor flagged %s (%s, severity %s): %s. Evidence: ledger events %v.", f.Subject, f.Rule, f.Severity, f.Detail, f.Evidence)
	if len(claim) > 4000 {
		claim = claim[:4000]
	}
	v, _, err := d.Tokens.FileSystemDispute(ctx, teg.AccountID(f.Subject), category, claim, f.ID)
	if err != nil {
		return "", err
	}
	return v.ID, nil
}

// ParamsSource is the ledger's parameter set in force.
type ParamsSource interface {
	Params(ctx context.Context) (teg.Params, error)
}

// ReputationLimits are the senders' per-transfer limits from their current reputation tier
// (the Limits of LARGE_TRANSFER).
type ReputationLimits struct {
	Ledger     ParamsSource
	Reputation *reputation.Service
}

// Floor is the lowest per-transfer limit of any tier in force.
func (l ReputationLimits) Floor(ctx context.Context) (avt.Amount, error) {
	p, err := l.Ledger.Params(ctx)
	if err != nil {
		return avt.Amount{}, err
	}
	tiers := p.EffectiveTiers()
	floor := tiers[0].PerTransfer
	for _, t := range tiers[1:] {
		if t.PerTransfer.Cmp(floor) < 0 {
			floor = t.PerTransfer
		}
	}
	return floor, nil
}

// PerTransfer is agent's per-transfer limit in its current tier.
func (l ReputationLimits) PerTransfer(ctx context.Context, agent string) (avt.Amount, error) {
	_, t, err := l.Reputation.Current(ctx, agent)
	return t.PerTransfer, err
}
