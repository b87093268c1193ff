package tegsql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// disputeRig is a ledger in simulated time with a payer, a provider and five validators.
type disputeRig struct {
	t     *testing.T
	l     *tegsql.Ledger
	clock atomic.Int64
	n     int
	sched *teg.DisputeScheduler
	vals  []teg.AccountID
}

const (
	payer    teg.AccountID = "agt_payer"
	provider teg.AccountID = "agt_provider"
	outsider teg.AccountID = "agt_outsider"
)

func (r *disputeRig) now() time.Time { return stakeBase.Add(time.Duration(r.clock.Load())) }

func newDisputeRig(t *testing.T, db *store.DB) *disputeRig {
	r := &disputeRig{t: t}
	p := disputeTestParams()
	r.l = tegsql.Open(db, p, r.now)
	t.Cleanup(r.l.Close)
	// agt_v1 is of the provider's developer: the service leaves it out of the candidates.
	r.sched = &teg.DisputeScheduler{Store: r.l, Now: r.now, Candidates: func(context.Context, *teg.Dispute) ([]teg.AccountID, error) {
		return []teg.AccountID{"agt_v0", "agt_v2", "agt_v3", "agt_v4", "agt_v5", "agt_v6"}, nil
	}}
	r.must(teg.Command{Kind: teg.KindMint, Amount: avt.AVT(1_000_000)})
	for _, a := range []teg.AccountID{payer, provider, outsider} {
		r.must(teg.Command{Kind: teg.KindOpen, To: a})
		r.must(teg.Command{Kind: teg.KindGrant, To: a, Amount: avt.AVT(1000)})
	}
	for i := range 7 {
		v := teg.AccountID(fmt.Sprintf("agt_v%d", i))
		r.vals = append(r.vals, v)
		r.must(teg.Command{Kind: teg.KindOpen, To: v})
		r.must(teg.Command{Kind: teg.KindGrant, To: v, Amount: avt.AVT(5000)})
		r.must(teg.Command{Kind: teg.KindValidatorCreate, From: v, Amount: avt.AVT(1000 + 100*uint64(i))})
	}
	// The provider stakes on its own (the passive pool) and delegates to agt_v1.
	r.must(teg.Command{Kind: teg.KindStake, From: provider, Amount: avt.AVT(200)})
	r.must(teg.Command{Kind: teg.KindStake, From: provider, Amount: avt.AVT(100), Staking: &teg.StakingArgs{Validator: "agt_v1"}})
	return r
}

func (r *disputeRig) cmd(c teg.Command) (teg.Transfer, error) {
	r.t.Helper()
	r.n++
	if c.ID == "" {
		c.ID = fmt.Sprintf("c%d", r.n)
	}
	tr, _, err := r.l.Do(context.Background(), c)
	return tr, err
}

func (r *disputeRig) must(c teg.Command) teg.Transfer {
	r.t.Helper()
	tr, err := r.cmd(c)
	if err != nil {
		r.t.Fatalf("%v: %v", c, err)
	}
	return tr
}

// refused checks that c is refused with code and that nothing moved.
func (r *disputeRig) refused(c teg.Command, code string) {
	r.t.Helper()
	before, _ := r.l.Head(context.Background())
	_, err := r.cmd(c)
	if apperr.CodeOf(err) != code {
		r.t.Fatalf("%s: got %v, want %s", c.Kind, err, code)
	}
	if after, _ := r.l.Head(context.Background()); after.Seq != before.Seq {
		r.t.Fatalf("%s refused but the log moved", c.Kind)
	}
}

func (r *disputeRig) d(kind teg.Kind, from teg.AccountID, a teg.DisputeArgs) teg.Command {
	return teg.Command{Kind: kind, From: from, Dispute: &a}
}

func (r *disputeRig) dispute(id string) *teg.Dispute {
	r.t.Helper()
	d, err := storedDispute(r.l, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// wait moves the clock by d and runs the deadline scheduler.
func (r *disputeRig) wait(d time.Duration) {
	r.t.Helper()
	r.clock.Add(int64(d))
	if _, err := r.sched.RunDue(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.l.ExpireDue(context.Background(), r.now()); err != nil {
		r.t.Fatal(err)
	}
}

func (r *disputeRig) account(id teg.AccountID) teg.Account {
	r.t.Helper()
	a, err := r.l.Account(context.Background(), id)
	if err != nil && apperr.KindOf(err) != apperr.NotFound {
		r.t.Fatal(err)
	}
	return a
}

func (r *disputeRig) pool(id teg.AccountID) *teg.Pool {
	r.t.Helper()
	text, _, err := r.l.State(context.Background(), teg.PoolKey(id))
	if err != nil {
		r.t.Fatal(err)
	}
	p, err := teg.DecodePool(text)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *disputeRig) stake(agent, pool teg.AccountID) avt.Amount {
	r.t.Helper()
	text, ok, err := r.l.State(context.Background(), teg.DelegationKey(agent, pool))
	if err != nil || !ok {
		r.t.Fatalf("delegation %s/%s: %v %v", agent, pool, ok, err)
	}
	d, err := teg.DecodeDelegation(text)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.pool(pool).Value(d)
}

func (r *disputeRig) verify() {
	r.t.Helper()
	if _, err := r.l.Verify(context.Background()); err != nil {
		r.t.Fatalf("verify: %v", err)
	}
}

func wantAmount(t *testing.T, what string, got, want avt.Amount) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %s, want %s", what, got, want)
	}
}

func sub(a, b avt.Amount) avt.Amount { c, _ := a.Sub(b); return c }
func add(a, b avt.Amount) avt.Amount { c, _ := a.Add(b); return c }

// A paid task fails; the payer files; both sides submit evidence; the panel commits and reveals
// (one panelist stays silent); the ruling voids the frozen payment back to the payer, slashes the
// provider 5 % of its own stake, pays the provider's forfeited fee to the majority, and slashes
// the silent arbitrator's validator 1 %. Every balance is checked to the base unit.
func TestDispute_EndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newDisputeRig(t, db)
		ctx := context.Background()
		dp := disputeTestParams().Disputes

		// The paid task: a hold of 40 AVT for the provider. The task fails; the provider does not
		// void it.
		hold := r.must(teg.Command{Kind: teg.KindPending, ID: "task-payment", From: payer, To: provider, Amount: avt.AVT(40), Timeout: time.Hour})
		payer0, provider0 := r.account(payer), r.account(provider)
		treasury0 := r.account(teg.Treasury).Liquid

		r.must(r.d(teg.KindDisputeFile, payer, teg.DisputeArgs{Dispute: "dsp_e2e", Category: "failed_service", Transfer: hold.ID, Text: "the task failed and was not refunded"}))
		d := r.dispute("dsp_e2e")
		if d.State != teg.DisputeOpen || d.Respondent != provider || !d.Frozen {
			t.Fatalf("filed: %+v", d)
		}
		if p, _, _ := r.l.Transfer(ctx, hold.ID); p.State != teg.PendingFrozen {
			t.Fatalf("the payment is %s, want frozen", p.State)
		}
		wantAmount(t, "escrow after filing", r.account(teg.DisputeEscrow).Liquid, dp.FilingFee)
		// Neither side can settle the frozen payment, nor can it expire.
		r.refused(teg.Command{Kind: teg.KindPost, PendingID: hold.ID}, teg.ErrPendingFrozen.Code)
		r.refused(teg.Command{Kind: teg.KindVoid, PendingID: hold.ID}, teg.ErrPendingFrozen.Code)

		r.must(r.d(teg.KindDisputeEvidence, payer, teg.DisputeArgs{Dispute: d.ID, Hash: "9f86d081884c7d65", URI: "https://logs.example/task-1", Text: "the task's log: FAILED"}))
		r.must(r.d(teg.KindDisputeEvidence, provider, teg.DisputeArgs{Dispute: d.ID, Text: "the input was malformed"}))
		if d = r.dispute(d.ID); d.State != teg.DisputeEvidence || d.Evidence != 2 {
			t.Fatalf("after evidence: %s %d", d.State, d.Evidence)
		}

		r.wait(time.Duration(dp.EvidenceSeconds) * time.Second)
		d = r.dispute(d.ID)
		if d.State != teg.DisputeArbitration || len(d.Round().Panel) != 3 {
			t.Fatalf("after the evidence period: %s, panel %v", d.State, d.Round())
		}
		round := d.Round()
		if !teg.CheckDraw(round) || slices.Contains(round.Panel, "agt_v1") || round.Seed == "" {
			t.Fatalf("panel %v does not re-draw from seed %s, or holds the provider's developer's validator", round.Panel, round.Seed)
		}
		panel := round.Panel
		silent := panel[2]
		silentPool0 := r.pool(silent).TotalTokens()
		for _, a := range panel[:2] {
			r.must(r.d(teg.KindDisputeCommit, a, teg.DisputeArgs{Dispute: d.ID, Commitment: teg.CommitmentOf(d.ID, a, teg.SideFiler, "salt-"+string(a))}))
		}
		r.wait(time.Duration(dp.CommitSeconds) * time.Second)
		for _, a := range panel[:2] {
			r.must(r.d(teg.KindDisputeReveal, a, teg.DisputeArgs{Dispute: d.ID, Vote: teg.SideFiler, Salt: "salt-" + string(a)}))
		}
		arb0 := []avt.Amount{r.account(panel[0]).Liquid, r.account(panel[1]).Liquid}
		r.wait(time.Duration(dp.RevealSeconds) * time.Second)
		d = r.dispute(d.ID)
		if d.State != teg.DisputeRuled || d.Round().Ruling != teg.SideFiler || !slices.Equal(d.Round().NonVoters, []teg.AccountID{silent}) {
			t.Fatalf("after the vote: %s ruling %q non-voters %v", d.State, d.Round().Ruling, d.Round().NonVoters)
		}
		// The silent arbitrator's validator lost 1 % at once.
		nonVoterCut := silentPool0.MulDivFloor(dp.NonVoterSlashBps, 10000)
		wantAmount(t, "silent arbitrator's pool", r.pool(silent).TotalTokens(), sub(silentPool0, nonVoterCut))

		r.wait(time.Duration(dp.AppealSeconds) * time.Second)
		d = r.dispute(d.ID)
		if d.State != teg.DisputeClosed || d.Winner != payer || d.Loser != provider {
			t.Fatalf("after the appeal period: %s winner %s loser %s", d.State, d.Winner, d.Loser)
		}

		// The payer has everything back: the hold (amount and fee) and its filing fee — all of
		// its grant.
		a := r.account(payer)
		wantAmount(t, "payer liquid", a.Liquid, add(payer0.Liquid, hold.Held))
		wantAmount(t, "payer liquid", a.Liquid, avt.AVT(1000))
		wantAmount(t, "payer locked", a.Locked, avt.Amount{})
		if p, _, _ := r.l.Transfer(ctx, hold.ID); p.State != teg.PendingVoided {
			t.Fatalf("the payment is %s, want voided", p.State)
		}
		// The provider forfeits the fee to the majority and loses 5 % of each of its stakes; the
		// other stake of agt_v1's pool is untouched.
		wantAmount(t, "provider liquid", r.account(provider).Liquid, sub(provider0.Liquid, dp.FilingFee))
		wantAmount(t, "provider's own stake", r.stake(provider, teg.PassivePool), avt.AVT(190))
		wantAmount(t, "provider's delegation", r.stake(provider, "agt_v1"), avt.AVT(95))
		wantAmount(t, "agt_v1's self-stake", r.stake("agt_v1", "agt_v1"), avt.AVT(1100))
		for i, arb := range panel[:2] {
			wantAmount(t, "majority arbitrator "+string(arb), r.account(arb).Liquid, add(arb0[i], avt.AVT(5)))
		}
		wantAmount(t, "treasury", r.account(teg.Treasury).Liquid, add(add(treasury0, avt.AVT(15)), nonVoterCut))
		wantAmount(t, "escrow", r.account(teg.DisputeEscrow).Liquid, avt.Amount{})

		// The loss is on the record for reputation.
		svc := &teg.Service{Store: r.l}
		lost, err := svc.DisputesLost(ctx)
		if err != nil || len(lost[string(provider)]) != 1 || !lost[string(provider)][0].Equal(r.now()) || len(lost) != 1 {
			t.Fatalf("disputes lost: %v %v", lost, err)
		}
		// Acting on a closed dispute is refused.
		r.refused(r.d(teg.KindDisputeEvidence, payer, teg.DisputeArgs{Dispute: d.ID, Text: "more"}), teg.ErrDisputeClosed.Code)
		r.refused(r.d(teg.KindDisputeAppeal, provider, teg.DisputeArgs{Dispute: d.ID}), teg.ErrDisputeClosed.Code)
		r.verify()
	})
}

// An appeal doubles panel and fee, once; every bad input is refused with its code and moves
// nothing.
func TestDispute_AppealAndBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newDisputeRig(t, db)
		dp := disputeTestParams().Disputes
		hold := r.must(teg.Command{Kind: teg.KindPending, ID: "task-payment", From: payer, To: provider, Amount: avt.AVT(40), Timeout: time.Hour})
		other := r.must(teg.Command{Kind: teg.KindPending, ID: "other-payment", From: outsider, To: provider, Amount: avt.AVT(5), Timeout: time.Hour})

		file := func(a teg.DisputeArgs) teg.Command { return r.d(teg.KindDisputeFile, payer, a) }
		r.refused(teg.Command{Kind: teg.KindDisputeFile, From: payer, To: payer, Dispute: &teg.DisputeArgs{Dispute: "dsp_x", Category: "other"}}, teg.ErrDisputeSelf.Code)
		r.refused(file(teg.DisputeArgs{Dispute: "dsp_x", Category: "other", Transfer: other.ID}), teg.ErrDisputeNotYourPayment.Code)
		r.refused(file(teg.DisputeArgs{Dispute: "dsp_x", Category: "bogus", Transfer: hold.ID}), teg.ErrDisputeCategory.Code)
		r.refused(file(teg.DisputeArgs{Dispute: "dsp_x", Category: "other", Transfer: "nope"}), teg.ErrDisputeTransfer.Code)
		r.refused(teg.Command{Kind: teg.KindDisputeFile, From: payer, To: "agt_nobody", Dispute: &teg.DisputeArgs{Dispute: "dsp_x", Category: "other"}}, teg.ErrAccountNotFound.Code)

		r.must(file(teg.DisputeArgs{Dispute: "dsp_a", Category: "unfair_fee", Transfer: hold.ID}))
		r.refused(r.d(teg.KindDisputeFile, provider, teg.DisputeArgs{Dispute: "dsp_y", Category: "other", Transfer: hold.ID}), teg.ErrPendingFrozen.Code)
		r.refused(r.d(teg.KindDisputeEvidence, outsider, teg.DisputeArgs{Dispute: "dsp_a", Text: "I saw it"}), teg.ErrDisputeNotParty.Code)
		r.refused(r.d(teg.KindDisputeEvidence, payer, teg.DisputeArgs{Dispute: "dsp_a", Text: strings.Repeat("x", dp.MaxEvidenceText+1)}), teg.ErrEvidenceTooLarge.Code)
		r.refused(r.d(teg.KindDisputeEvidence, payer, teg.DisputeArgs{Dispute: "dsp_a"}), teg.ErrEvidenceEmpty.Code)
		r.refused(r.d(teg.KindDisputeWithdraw, provider, teg.DisputeArgs{Dispute: "dsp_a"}), teg.ErrDisputeNotFiler.Code)
		r.refused(r.d(teg.KindDisputeCommit, "agt_v0", teg.DisputeArgs{Dispute: "dsp_a", Commitment: teg.CommitmentOf("dsp_a", "agt_v0", teg.SideFiler, "s")}), teg.ErrDisputeState.Code)
		r.refused(teg.Command{Kind: teg.KindDisputeAdvance, Dispute: &teg.DisputeArgs{Dispute: "dsp_a", From: teg.DisputeOpen}}, teg.ErrDisputeNotDue.Code)
		r.must(r.d(teg.KindDisputeEvidence, provider, teg.DisputeArgs{Dispute: "dsp_a", URI: "https://e.example/receipt"}))
		r.wait(time.Duration(dp.EvidenceSeconds) * time.Second)

		d := r.dispute("dsp_a")
		panel := d.Round().Panel
		var outsiderVal teg.AccountID
		for _, v := range r.vals {
			if !slices.Contains(panel, v) && v != "agt_v1" {
				outsiderVal = v
			}
		}
		r.refused(r.d(teg.KindDisputeCommit, outsiderVal, teg.DisputeArgs{Dispute: "dsp_a", Commitment: teg.CommitmentOf("dsp_a", outsiderVal, teg.SideFiler, "s")}), teg.ErrDisputeNotPanelist.Code)
		r.refused(r.d(teg.KindDisputeCommit, panel[0], teg.DisputeArgs{Dispute: "dsp_a", Commitment: "zz"}), teg.ErrInvalidCommitment.Code)
		for _, a := range panel {
			r.must(r.d(teg.KindDisputeCommit, a, teg.DisputeArgs{Dispute: "dsp_a", Commitment: teg.CommitmentOf("dsp_a", a, teg.SideRespondent, "s-"+string(a))}))
		}
		r.refused(r.d(teg.KindDisputeCommit, panel[0], teg.DisputeArgs{Dispute: "dsp_a", Commitment: teg.CommitmentOf("dsp_a", panel[0], teg.SideFiler, "t")}), teg.ErrAlreadyCommitted.Code)
		r.refused(r.d(teg.KindDisputeReveal, panel[0], teg.DisputeArgs{Dispute: "dsp_a", Vote: teg.SideRespondent, Salt: "s-" + string(panel[0])}), teg.ErrRevealNotOpen.Code)
		r.wait(time.Duration(dp.CommitSeconds) * time.Second)
		r.refused(r.d(teg.KindDisputeCommit, panel[0], teg.DisputeArgs{Dispute: "dsp_a", Commitment: teg.CommitmentOf("dsp_a", panel[0], teg.SideFiler, "t")}), teg.ErrVoteClosed.Code)
		r.refused(r.d(teg.KindDisputeReveal, panel[0], teg.DisputeArgs{Dispute: "dsp_a", Vote: teg.SideFiler, Salt: "s-" + string(panel[0])}), teg.ErrRevealMismatch.Code)
		r.refused(r.d(teg.KindDisputeReveal, panel[0], teg.DisputeArgs{Dispute: "dsp_a", Vote: "maybe", Salt: "x"}), teg.ErrInvalidDisputeVote.Code)
		for _, a := range panel {
			r.must(r.d(teg.KindDisputeReveal, a, teg.DisputeArgs{Dispute: "dsp_a", Vote: teg.SideRespondent, Salt: "s-" + string(a)}))
		}
		r.wait(time.Duration(dp.RevealSeconds) * time.Second)
		if d = r.dispute("dsp_a"); d.State != teg.DisputeRuled || d.Round().Ruling != teg.SideRespondent {
			t.Fatalf("ruled: %s %q", d.State, d.Round().Ruling)
		}
		// The winner may not appeal; the loser may, once, for twice the fee, before the deadline.
		r.refused(r.d(teg.KindDisputeAppeal, provider, teg.DisputeArgs{Dispute: "dsp_a", Candidates: r.vals}), teg.ErrNotAppellant.Code)
		r.refused(r.d(teg.KindDisputeAppeal, outsider, teg.DisputeArgs{Dispute: "dsp_a", Candidates: r.vals}), teg.ErrDisputeNotParty.Code)
		r.refused(r.d(teg.KindDisputeAppeal, payer, teg.DisputeArgs{Dispute: "dsp_a", Candidates: r.vals[:3]}), teg.ErrPanelUnavailable.Code)
		escrow0 := r.account(teg.DisputeEscrow).Liquid
		r.must(r.d(teg.KindDisputeAppeal, payer, teg.DisputeArgs{Dispute: "dsp_a", Candidates: r.vals}))
		d = r.dispute("dsp_a")
		if d.State != teg.DisputeAppealed || len(d.Round().Panel) != 6 || !teg.CheckDraw(d.Round()) {
			t.Fatalf("appealed: %s panel %v", d.State, d.Round().Panel)
		}
		wantAmount(t, "escrow after the appeal", r.account(teg.DisputeEscrow).Liquid, add(escrow0, avt.AVT(20)))
		r.refused(r.d(teg.KindDisputeAppeal, payer, teg.DisputeArgs{Dispute: "dsp_a", Candidates: r.vals}), teg.ErrAppealUsed.Code)
		// Nobody votes in the appeal: all six are slashed 1 %, the first ruling stands, and the
		// second appeal is still refused.
		r.wait(time.Duration(dp.CommitSeconds+dp.RevealSeconds) * time.Second)
		if d = r.dispute("dsp_a"); d.State != teg.DisputeRuled || len(d.Round().NonVoters) != 6 {
			t.Fatalf("appeal tallied: %s non-voters %v", d.State, d.Round().NonVoters)
		}
		r.refused(r.d(teg.KindDisputeAppeal, payer, teg.DisputeArgs{Dispute: "dsp_a", Candidates: r.vals}), teg.ErrAppealUsed.Code)
		payer0, provider0 := r.account(payer), r.account(provider)
		r.wait(time.Second)
		if d = r.dispute("dsp_a"); d.State != teg.DisputeClosed || d.Winner != provider {
			t.Fatalf("closed: %s winner %s", d.State, d.Winner)
		}
		// The provider wins the payment (posted with its fee) and nothing of its stake is lost;
		// the payer's 30 AVT of fees go to the first round's majority.
		wantAmount(t, "provider liquid", r.account(provider).Liquid, add(provider0.Liquid, avt.AVT(40)))
		wantAmount(t, "payer locked", r.account(payer).Locked, sub(payer0.Locked, hold.Held))
		wantAmount(t, "escrow", r.account(teg.DisputeEscrow).Liquid, avt.Amount{})
		wantAmount(t, "provider's stake", r.stake(provider, teg.PassivePool), avt.AVT(200))
		r.refused(r.d(teg.KindDisputeWithdraw, payer, teg.DisputeArgs{Dispute: "dsp_a"}), teg.ErrDisputeClosed.Code)
		r.refused(r.d(teg.KindDisputeEvidence, payer, teg.DisputeArgs{Dispute: "dsp_none", Text: "x"}), teg.ErrDisputeNotFound.Code)

		// A withdrawn dispute unfreezes its payment, and the fee goes to the treasury.
		h2 := r.must(teg.Command{Kind: teg.KindPending, From: payer, To: provider, Amount: avt.AVT(3), Timeout: time.Hour})
		r.must(file(teg.DisputeArgs{Dispute: "dsp_w", Category: "other", Transfer: h2.ID}))
		r.must(r.d(teg.KindDisputeWithdraw, payer, teg.DisputeArgs{Dispute: "dsp_w"}))
		if p, _, _ := r.l.Transfer(context.Background(), h2.ID); p.State != teg.PendingActive {
			t.Fatalf("after the withdrawal the payment is %s", p.State)
		}
		r.must(teg.Command{Kind: teg.KindPost, PendingID: h2.ID})
		r.verify()
	})
}

// The candidates of a panel: validators the policy lets arbitrate (Verified and up), without the
// parties and without the other agents of the parties' developers.
func TestDispute_ArbitratorCandidates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newDisputeRig(t, db)
		devs := map[string]string{string(provider): "dev_1", "agt_v1": "dev_1", string(payer): "dev_2", "agt_v3": "dev_2", "agt_v0": "dev_3"}
		svc := &teg.Service{Store: r.l, Authz: policy.New(),
			Scores: func(_ context.Context, a string) (int, bool) {
				if a == "agt_v2" {
					return 500, true // Trusted: not enough to arbitrate
				}
				return 950, strings.HasPrefix(a, "agt_v") && a != "agt_v6" // agt_v6 has no score yet
			},
			DeveloperOf: func(_ context.Context, a string) (string, error) { return devs[a], nil }}
		got, err := svc.ArbitratorCandidates(context.Background(), &teg.Dispute{ID: "dsp_c", Filer: payer, Respondent: provider})
		if err != nil {
			t.Fatal(err)
		}
		if want := []teg.AccountID{"agt_v0", "agt_v4", "agt_v5"}; !slices.Equal(got, want) {
			t.Fatalf("candidates %v, want %v", got, want)
		}
	})
}

// TestDispute_TwoReplicasStepEachDeadlineOnce: two ledgers (two processes' writers) on one
// PostgreSQL database run the dispute scheduler at the same time through every deadline of a
// dispute; each step happens exactly once.
func TestDispute_TwoReplicasStepEachDeadlineOnce(t *testing.T) {
	db := storetest.Postgres(t)
	r := newDisputeRig(t, db)
	b := tegsql.Open(db, disputeTestParams(), r.now)
	t.Cleanup(b.Close)
	dp := disputeTestParams().Disputes
	hold := r.must(teg.Command{Kind: teg.KindPending, From: payer, To: provider, Amount: avt.AVT(40), Timeout: time.Hour})
	r.must(r.d(teg.KindDisputeFile, payer, teg.DisputeArgs{Dispute: "dsp_r", Category: "failed_service", Transfer: hold.ID}))
	r.must(r.d(teg.KindDisputeEvidence, provider, teg.DisputeArgs{Dispute: "dsp_r", Text: "no"}))
	race := func() {
		t.Helper()
		var wg sync.WaitGroup
		for _, l := range []*tegsql.Ledger{r.l, b, r.l, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := &teg.DisputeScheduler{Store: l, Now: r.now, Candidates: r.sched.Candidates}
				for range 3 {
					if _, err := s.RunDue(context.Background()); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	r.clock.Add(int64(time.Duration(dp.EvidenceSeconds) * time.Second))
	race()
	d := r.dispute("dsp_r")
	for _, a := range d.Round().Panel {
		r.must(r.d(teg.KindDisputeCommit, a, teg.DisputeArgs{Dispute: "dsp_r", Commitment: teg.CommitmentOf("dsp_r", a, teg.SideRespondent, "s")}))
	}
	r.clock.Add(int64(time.Duration(dp.CommitSeconds) * time.Second))
	for _, a := range d.Round().Panel {
		r.must(r.d(teg.KindDisputeReveal, a, teg.DisputeArgs{Dispute: "dsp_r", Vote: teg.SideRespondent, Salt: "s"}))
	}
	r.clock.Add(int64(time.Duration(dp.RevealSeconds) * time.Second))
	race()
	r.clock.Add(int64(time.Duration(dp.AppealSeconds) * time.Second))
	race()
	d = r.dispute("dsp_r")
	var steps []teg.DisputeState
	for _, h := range d.History {
		steps = append(steps, h.To)
	}
	if want := []teg.DisputeState{teg.DisputeOpen, teg.DisputeEvidence, teg.DisputeArbitration, teg.DisputeRuled, teg.DisputeClosed}; !slices.Equal(steps, want) {
		t.Fatalf("history %v, want %v", steps, want)
	}
	if d.Winner != provider {
		t.Fatalf("winner %s", d.Winner)
	}
	r.verify()
}
