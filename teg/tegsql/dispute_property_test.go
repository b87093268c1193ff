package tegsql_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// The dispute property: random filings (about random transfers, against random agents, some
// against themselves), evidence, commits, reveals (some with the wrong salt), appeals and
// withdrawals by random actors, payments posted, voided and expired, and time passing with the
// deadline scheduler and the expiry sweep running. After every step:
//   - every dispute moved at most one legal transition, and its recorded history is legal;
//   - a refused command changed nothing (the log's head did not move);
//   - the dispute escrow holds exactly the fees of the disputes (none for an ended one);
//   - a dispute that holds a payment has it frozen, nobody posts, voids or expires a frozen
//     payment, and the locked balances are exactly the funds of the active and frozen holds;
//   - teg verify passes (which also re-draws every panel from its recorded seed).

const disputePropSteps = 120

var disputeStats struct{ filed, frozen, evidence, commits, reveals, ruled, closed, appeals, withdrawn, expired, refused atomic.Int64 }

func disputeTestParams() teg.Params {
	p := stakingParams()
	p.Disputes = teg.DefaultDisputeParams()
	p.Disputes.EvidenceSeconds, p.Disputes.CommitSeconds, p.Disputes.RevealSeconds, p.Disputes.AppealSeconds = 20, 20, 20, 20
	return p
}

type disputeWorld struct {
	rt       *rapid.T
	l        *tegsql.Ledger
	clock    atomic.Int64
	n        int
	agents   []teg.AccountID
	vals     []teg.AccountID
	pendings []string
	disputes []string
	states   map[string]teg.DisputeState
	salts    map[[2]string]string // (dispute, arbitrator) → the salt it committed with
	votes    map[[2]string]string
	sched    *teg.DisputeScheduler
}

func (w *disputeWorld) now() time.Time { return stakeBase.Add(time.Duration(w.clock.Load())) }

func (w *disputeWorld) id() string { w.n++; return fmt.Sprintf("d%d", w.n) }

func TestDisputes_StateMachineProperties(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		checks := 0
		rapid.Check(t, func(rt *rapid.T) {
			checks++
			resetDB(rt, db)
			w := &disputeWorld{rt: rt, states: map[string]teg.DisputeState{}, salts: map[[2]string]string{}, votes: map[[2]string]string{}}
			w.l = tegsql.Open(db, disputeTestParams(), w.now)
			defer w.l.Close()
			w.sched = &teg.DisputeScheduler{Store: w.l, Now: w.now, Candidates: func(context.Context, *teg.Dispute) ([]teg.AccountID, error) {
				return w.vals, nil
			}}
			w.setup()
			for steps := rapid.IntRange(1, disputePropSteps).Draw(rt, "steps"); steps > 0; steps-- {
				w.step()
				w.check()
			}
		})
		t.Logf("%s: %d checks; filed %d (frozen %d), evidence %d, commits %d, reveals %d, ruled %d, closed %d, appeals %d, withdrawn %d, expired %d, refusals %d",
			db.Dialect(), checks, disputeStats.filed.Load(), disputeStats.frozen.Load(), disputeStats.evidence.Load(), disputeStats.commits.Load(),
			disputeStats.reveals.Load(), disputeStats.ruled.Load(), disputeStats.closed.Load(), disputeStats.appeals.Load(), disputeStats.withdrawn.Load(),
			disputeStats.expired.Load(), disputeStats.refused.Load())
	})
}

func (w *disputeWorld) must(c teg.Command) teg.Transfer {
	tr, _, err := w.l.Do(context.Background(), c)
	if err != nil {
		w.rt.Fatalf("%v: %v", c, err)
	}
	return tr
}

func (w *disputeWorld) setup() {
	w.must(teg.Command{Kind: teg.KindMint, ID: w.id(), Amount: avt.AVT(10_000_000)})
	for i := range 4 {
		a := teg.AccountID(fmt.Sprintf("agt_p%d", i))
		w.agents = append(w.agents, a)
		w.must(teg.Command{Kind: teg.KindOpen, ID: w.id(), To: a})
		w.must(teg.Command{Kind: teg.KindGrant, ID: w.id(), To: a, Amount: avt.AVT(500)})
		w.must(teg.Command{Kind: teg.KindStake, ID: w.id(), From: a, Amount: avt.AVT(100)})
	}
	for i := range 7 {
		v := teg.AccountID(fmt.Sprintf("agt_v%d", i))
		w.vals = append(w.vals, v)
		w.must(teg.Command{Kind: teg.KindOpen, ID: w.id(), To: v})
		w.must(teg.Command{Kind: teg.KindGrant, ID: w.id(), To: v, Amount: avt.AVT(3000)})
		w.must(teg.Command{Kind: teg.KindValidatorCreate, ID: w.id(), From: v, Amount: avt.AVT(1000 + 150*uint64(i))})
	}
}

func (w *disputeWorld) actor(label string) teg.AccountID {
	return rapid.SampledFrom(append(slices.Clone(w.agents), w.vals...)).Draw(w.rt, label)
}

func (w *disputeWorld) dispute(label string) (*teg.Dispute, bool) {
	if len(w.disputes) == 0 {
		return nil, false
	}
	pool := w.disputes
	var live []string
	for _, id := range w.disputes {
		if !w.states[id].Final() {
			live = append(live, id)
		}
	}
	if len(live) > 0 && rapid.IntRange(0, 4).Draw(w.rt, label+"_live") > 0 {
		pool = live
	}
	d, err := w.read(rapid.SampledFrom(pool).Draw(w.rt, label))
	if err != nil {
		w.rt.Fatal(err)
	}
	return d, true
}

func (w *disputeWorld) head() uint64 {
	h, err := w.l.Head(context.Background())
	if err != nil {
		w.rt.Fatal(err)
	}
	return h.Seq
}

// try applies c and checks that a refusal changed nothing and was no internal error.
func (w *disputeWorld) try(c teg.Command) error {
	before := w.head()
	_, _, err := w.l.Do(context.Background(), c)
	if err != nil {
		if apperr.KindOf(err) == apperr.Internal {
			w.rt.Fatalf("%v: internal error %v", c, err)
		}
		if after := w.head(); after != before {
			w.rt.Fatalf("%v refused (%v) but the log moved from %d to %d", c, err, before, after)
		}
		disputeStats.refused.Add(1)
	}
	return err
}

func (w *disputeWorld) dcmd(kind teg.Kind, from teg.AccountID, a teg.DisputeArgs) teg.Command {
	return teg.Command{Kind: kind, ID: w.id(), From: from, Dispute: &a}
}

func (w *disputeWorld) step() {
	ctx := context.Background()
	switch rapid.IntRange(0, 15).Draw(w.rt, "action") {
	case 14, 15: // the panel votes: each panelist but a random one commits, or reveals
		if d, ok := w.dispute("d"); ok && d.Round() != nil {
			skip := rapid.IntRange(-1, len(d.Round().Panel)-1).Draw(w.rt, "silent")
			for i, who := range d.Round().Panel {
				if i == skip {
					continue
				}
				k := [2]string{d.ID, string(who)}
				if w.salts[k] == "" || d.Round().Votes[i].Commitment == "" {
					w.salts[k], w.votes[k] = w.id(), rapid.SampledFrom([]string{teg.SideFiler, teg.SideRespondent}).Draw(w.rt, "vote")
					if w.try(w.dcmd(teg.KindDisputeCommit, who, teg.DisputeArgs{Dispute: d.ID, Commitment: teg.CommitmentOf(d.ID, who, w.votes[k], w.salts[k])})) == nil {
						disputeStats.commits.Add(1)
					} else {
						delete(w.salts, k)
					}
				} else if w.try(w.dcmd(teg.KindDisputeReveal, who, teg.DisputeArgs{Dispute: d.ID, Vote: w.votes[k], Salt: w.salts[k]})) == nil {
					disputeStats.reveals.Add(1)
				}
			}
		}
	case 0: // a paid task: a hold between two agents
		from, to := w.actor("payer"), w.actor("payee")
		id := w.id()
		if w.try(teg.Command{Kind: teg.KindPending, ID: id, From: from, To: to, Amount: avt.AVT(uint64(rapid.IntRange(1, 50).Draw(w.rt, "amt"))), Timeout: 25 * time.Second}) == nil {
			w.pendings = append(w.pendings, id)
		}
	case 1: // file (while fewer than three disputes are live, so that some get far)
		live := 0
		for _, st := range w.states {
			if !st.Final() {
				live++
			}
		}
		if live >= 3 {
			return
		}
		a := teg.DisputeArgs{Dispute: "dsp_" + w.id(), Category: rapid.SampledFrom(append(slices.Clone(teg.DisputeCategories), "bogus")).Draw(w.rt, "category"), Text: "claim"}
		c := w.dcmd(teg.KindDisputeFile, w.actor("filer"), a)
		if len(w.pendings) > 0 && rapid.Bool().Draw(w.rt, "about_payment") {
			c.Dispute.Transfer = rapid.SampledFrom(w.pendings).Draw(w.rt, "payment")
		} else {
			c.To = w.actor("respondent")
		}
		err := w.try(c)
		if c.To == c.From && c.To != "" && a.Category != "bogus" && apperr.CodeOf(err) != teg.ErrDisputeSelf.Code {
			w.rt.Fatalf("a dispute against oneself: %v", err)
		}
		if err == nil {
			w.disputes = append(w.disputes, a.Dispute)
			w.states[a.Dispute] = teg.DisputeOpen
			disputeStats.filed.Add(1)
			if d, _ := w.read(a.Dispute); d.Frozen {
				disputeStats.frozen.Add(1)
			}
		}
	case 2, 3: // evidence
		if d, ok := w.dispute("d"); ok {
			who := rapid.SampledFrom([]teg.AccountID{d.Filer, d.Respondent, w.actor("other")}).Draw(w.rt, "party")
			err := w.try(w.dcmd(teg.KindDisputeEvidence, who, teg.DisputeArgs{Dispute: d.ID, Hash: "ab12", URI: "https://e.example/1", Text: "see"}))
			if err == nil {
				disputeStats.evidence.Add(1)
			}
		}
	case 4, 12: // commit
		if d, ok := w.dispute("d"); ok {
			who := w.panelistOrNot(d)
			vote := rapid.SampledFrom([]string{teg.SideFiler, teg.SideRespondent}).Draw(w.rt, "vote")
			salt := w.id()
			if w.try(w.dcmd(teg.KindDisputeCommit, who, teg.DisputeArgs{Dispute: d.ID, Commitment: teg.CommitmentOf(d.ID, who, vote, salt)})) == nil {
				w.salts[[2]string{d.ID, string(who)}], w.votes[[2]string{d.ID, string(who)}] = salt, vote
				disputeStats.commits.Add(1)
			}
		}
	case 5, 13: // reveal (sometimes with the wrong salt)
		if d, ok := w.dispute("d"); ok {
			who := w.panelistOrNot(d)
			k := [2]string{d.ID, string(who)}
			salt, vote := w.salts[k], w.votes[k]
			if rapid.IntRange(0, 4).Draw(w.rt, "bad_salt") == 0 {
				salt += "x"
			}
			if vote == "" {
				vote = teg.SideFiler
			}
			err := w.try(w.dcmd(teg.KindDisputeReveal, who, teg.DisputeArgs{Dispute: d.ID, Vote: vote, Salt: salt}))
			if err == nil {
				disputeStats.reveals.Add(1)
			} else if w.salts[k] != "" && salt != w.salts[k] && apperr.CodeOf(err) == "" {
				w.rt.Fatalf("a wrong salt was accepted")
			}
		}
	case 6: // appeal
		if d, ok := w.dispute("d"); ok {
			who := rapid.SampledFrom([]teg.AccountID{d.Filer, d.Respondent, w.actor("other")}).Draw(w.rt, "appellant")
			if w.try(w.dcmd(teg.KindDisputeAppeal, who, teg.DisputeArgs{Dispute: d.ID, Candidates: w.vals})) == nil {
				disputeStats.appeals.Add(1)
			}
		}
	case 7: // withdraw
		if d, ok := w.dispute("d"); ok {
			who := d.Filer
			if rapid.Bool().Draw(w.rt, "other_withdraws") {
				who = w.actor("withdrawer")
			}
			if w.try(w.dcmd(teg.KindDisputeWithdraw, who, teg.DisputeArgs{Dispute: d.ID})) == nil {
				disputeStats.withdrawn.Add(1)
			}
		}
	case 8: // settle a payment: a frozen one is refused
		if len(w.pendings) > 0 {
			id := rapid.SampledFrom(w.pendings).Draw(w.rt, "payment")
			p, _, _ := w.l.Transfer(ctx, id)
			kind := rapid.SampledFrom([]teg.Kind{teg.KindPost, teg.KindVoid, teg.KindExpire}).Draw(w.rt, "settle")
			err := w.try(teg.Command{Kind: kind, ID: w.id(), PendingID: id})
			if p.State == teg.PendingFrozen && apperr.CodeOf(err) != teg.ErrPendingFrozen.Code {
				w.rt.Fatalf("%s of frozen payment %s: %v", kind, id, err)
			}
		}
	default: // time passes; the deadlines and expiries run
		w.clock.Add(int64(time.Duration(rapid.IntRange(1, 20).Draw(w.rt, "seconds")) * time.Second))
		if _, err := w.sched.RunDue(ctx); err != nil {
			w.rt.Fatalf("dispute scheduler: %v", err)
		}
		if _, err := w.l.ExpireDue(ctx, w.now()); err != nil {
			w.rt.Fatalf("expiry: %v", err)
		}
	}
}

// panelistOrNot draws a panelist of d's current round, or any actor.
func (w *disputeWorld) panelistOrNot(d *teg.Dispute) teg.AccountID {
	if r := d.Round(); r != nil && rapid.IntRange(0, 3).Draw(w.rt, "panelist") > 0 {
		return rapid.SampledFrom(r.Panel).Draw(w.rt, "arbitrator")
	}
	return w.actor("arbitrator")
}

func (w *disputeWorld) read(id string) (*teg.Dispute, error) { return storedDispute(w.l, id) }

// storedDispute reads a dispute's record from the ledger's state.
func storedDispute(l *tegsql.Ledger, id string) (*teg.Dispute, error) {
	text, ok, err := l.State(context.Background(), teg.DisputeKey(id))
	if err != nil || !ok {
		return nil, fmt.Errorf("dispute %s: %v (found %v)", id, err, ok)
	}
	return teg.DecodeDispute(text)
}

func (w *disputeWorld) check() {
	ctx := context.Background()
	var escrow avt.Amount
	frozen := map[string]bool{}
	for _, id := range w.disputes {
		d, err := w.read(id)
		if err != nil {
			w.rt.Fatal(err)
		}
		if old := w.states[id]; d.State != old {
			if !teg.LegalTransition(old, d.State) {
				w.rt.Fatalf("dispute %s went %s → %s", id, old, d.State)
			}
			switch d.State {
			case teg.DisputeRuled:
				disputeStats.ruled.Add(1)
			case teg.DisputeClosed:
				disputeStats.closed.Add(1)
			case teg.DisputeExpired:
				disputeStats.expired.Add(1)
			}
			w.states[id] = d.State
		}
		escrow, _ = escrow.Add(d.Escrowed())
		if d.Frozen {
			p, ok, err := w.l.Transfer(ctx, d.Transfer)
			if err != nil || !ok || p.State != teg.PendingFrozen || d.State.Final() {
				w.rt.Fatalf("dispute %s (%s) holds payment %s, which is %s", id, d.State, d.Transfer, p.State)
			}
			frozen[d.Transfer] = true
		}
	}
	if got := w.account(teg.DisputeEscrow).Liquid; got != escrow {
		w.rt.Fatalf("dispute escrow holds %s, the disputes %s", got, escrow)
	}
	var held, locked avt.Amount
	for _, id := range w.pendings {
		p, _, err := w.l.Transfer(ctx, id)
		if err != nil {
			w.rt.Fatal(err)
		}
		if p.State == teg.PendingFrozen && !frozen[id] {
			w.rt.Fatalf("payment %s is frozen by no open dispute", id)
		}
		if p.State == teg.PendingActive || p.State == teg.PendingFrozen {
			held, _ = held.Add(p.Held)
		}
	}
	for _, a := range append(slices.Clone(w.agents), w.vals...) {
		locked, _ = locked.Add(w.account(a).Locked)
	}
	if held != locked {
		w.rt.Fatalf("locked balances %s, active and frozen holds %s", locked, held)
	}
	if _, err := w.l.Verify(ctx); err != nil {
		w.rt.Fatalf("verify: %v", err)
	}
}

func (w *disputeWorld) account(id teg.AccountID) teg.Account {
	a, err := w.l.Account(context.Background(), id)
	if err != nil && apperr.KindOf(err) != apperr.NotFound {
		w.rt.Fatal(err)
	}
	return a
}
