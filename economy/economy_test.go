package economy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// The end-to-end economic scenario, 50 agents over 30 days (what `sovereign sim economy
// --agents 50 --days 30 --seed 7` runs): the auditor flags the ring's CIRCULAR_FLOW, the flag
// becomes a dispute a panel rules on by commit and reveal, the ring's member is slashed and its
// tier drops, a transfer over its new limit is refused; a proposal lowers the fee and the next
// transfer pays the new fee; a vetoed proposal burns its deposit; a treasury spend pays its
// grant; the log verifies and the supply is minted − burned to the base unit.
func TestEconomy_Scenario(t *testing.T) {
	cfg := DefaultConfig(7)
	cfg.DSN = "sqlite://" + filepath.Join(privateDir(t), "economy.db")
	var out strings.Builder
	cfg.Out = &out
	res, err := Run(context.Background(), cfg)
	if testing.Verbose() {
		os.Stdout.WriteString(out.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Line())

	// The flag and the dispute it became.
	f := res.RingFlag
	if f.Rule != auditor.CircularFlow || !slices.Contains(res.Ring, f.Subject) || f.Status != auditor.StatusEscalated || f.DisputeID == "" {
		t.Fatalf("ring flag %+v", f)
	}
	for _, a := range res.Ring {
		if !slices.Contains(f.Agents, a) {
			t.Errorf("the flag names %v, not the ring's member %s", f.Agents, a)
		}
	}
	d := res.Dispute
	if d.ID != f.DisputeID || d.State != teg.DisputeClosed || d.Filer != teg.Treasury || string(d.Respondent) != f.Subject ||
		d.Winner != teg.Treasury || string(d.Loser) != f.Subject {
		t.Fatalf("dispute %+v", d)
	}
	if r := d.Round(); r.Ruling != teg.SideFiler || len(r.Panel) != 3 || len(r.Majority) != 3 || len(r.NonVoters) != 0 || !teg.CheckDraw(r) {
		t.Fatalf("the panel's round %+v", r)
	}
	for _, a := range d.Round().Panel {
		if slices.Contains(res.Ring, string(a)) {
			t.Fatalf("ring member %s on the panel", a)
		}
	}
	// The slash: 5 % of the loser's own stake.
	if want := res.StakeBefore.MulDivFloor(9500, 10000); res.StakeAfter != want {
		t.Fatalf("the loser's stake %s → %s, want %s", res.StakeBefore, res.StakeAfter, want)
	}
	// The tier drop and the refused transfer.
	if res.ScoreAfter >= res.ScoreBefore || tierRank(res.TierAfter) >= tierRank(res.TierBefore) {
		t.Fatalf("score %d → %d, tier %s → %s: no drop", res.ScoreBefore, res.ScoreAfter, res.TierBefore, res.TierAfter)
	}
	if !res.AllowedBefore || res.OverLimitAmount.Cmp(res.LimitAfter) <= 0 || res.DeniedCode != teg.ErrTransferLimit.Code {
		t.Fatalf("%s AVT allowed before %t, limit after %s, refused with %q", res.OverLimitAmount, res.AllowedBefore, res.LimitAfter, res.DeniedCode)
	}

	// Governance: the fee, the veto, the grant.
	if p := res.FeeProposal; p.Status != teg.StatusExecuted || res.FeeBefore != 10 || res.FeeAfter != 5 {
		t.Fatalf("fee proposal %s, fee %d → %d bps", p.Status, res.FeeBefore, res.FeeAfter)
	}
	if res.FeePaid != avt.MustParse("0.04") || res.FeePaid != res.FeeExpected {
		t.Fatalf("the transfer after the change paid %s, want 0.04 (%s)", res.FeePaid, res.FeeExpected)
	}
	if p := res.VetoProposal; p.Status != teg.StatusVetoed || res.VetoBurnt != p.Deposit || p.Deposit != avt.AVT(100) {
		t.Fatalf("vetoed proposal %s, deposit %s, burnt %s", p.Status, p.Deposit, res.VetoBurnt)
	}
	if p := res.SpendProposal; p.Status != teg.StatusExecuted || res.GrantReceived != avt.AVT(500) {
		t.Fatalf("spend %s, paid %s", p.Status, res.GrantReceived)
	}

	// The end: counts, verify, supply.
	if res.Agents != 50 || res.Days != 30 || res.Disputes != 1 || res.Proposals != 3 || res.RingFlags < 1 || res.Flags < res.RingFlags || res.Transfers < 50*30 || res.Attestations < 30*20 {
		t.Fatalf("counts %s", res.Line())
	}
	if want, _ := res.Report.Minted.Sub(res.Report.Burned); !res.Verified || !res.SupplyConserve || res.Report.Supply != want {
		t.Fatalf("verify %t, supply %s, minted %s − burned %s", res.Verified, res.Report.Supply, res.Report.Minted, res.Report.Burned)
	}
	if !strings.Contains(out.String(), "TRANSFER_LIMIT_EXCEEDED") || !strings.HasSuffix(res.Line(), "supply_conserved=true verified=true") {
		t.Fatalf("output %s\nline %s", out.String(), res.Line())
	}
}

func tierRank(name string) int {
	return slices.Index([]string{teg.TierUntrusted, teg.TierNew, teg.TierTrusted, teg.TierVerified, teg.TierElite}, name)
}

// Runs too small to hold the scenario are refused before any work.
func TestEconomy_TooSmall(t *testing.T) {
	for _, cfg := range []Config{{Agents: MinAgents - 1, Days: 30}, {Agents: 50, Days: MinDays - 1}} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Fatalf("%+v ran", cfg)
		}
	}
}

// privateDir is a temporary directory only this user reads (the store warns otherwise).
func privateDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
