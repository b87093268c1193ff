package teg_test

import (
	"context"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

var newLimits = &teg.Limits{Tier: "New", PerTransfer: avt.AVT(100), Daily: avt.AVT(1000)}

func limited(id string, from, to teg.AccountID, amount uint64) teg.Command {
	return teg.Command{Kind: teg.KindTransfer, ID: id, From: from, To: to, Amount: avt.AVT(amount), Limits: newLimits}
}

func TestDailyLimit_RollsOverTwentyFourHours(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	h.must(teg.Command{Kind: teg.KindGrant, ID: h.id(), To: "agt_a", Amount: avt.AVT(5000)})
	for range 10 {
		h.must(limited(h.id(), "agt_a", "agt_b", 100))
		h.now = h.now.Add(30 * time.Minute)
	}
	// 10 transfers over 5 hours: 1,000 AVT sent.
	r := h.one(limited(h.id(), "agt_a", "agt_b", 1))
	if code(r.Err) != "DAILY_LIMIT_EXCEEDED" {
		t.Fatalf("11th transfer: %v", r.Err)
	}
	// 24 hours after the first hour's transfers they leave the window (two in the first hour).
	h.now = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	h.must(limited(h.id(), "agt_a", "agt_b", 100))
	h.must(limited(h.id(), "agt_a", "agt_b", 100))
	if r := h.one(limited(h.id(), "agt_a", "agt_b", 100)); code(r.Err) != "DAILY_LIMIT_EXCEEDED" {
		t.Fatalf("third transfer after the first hour left: %v", r.Err)
	}
	// A command without limits (the ledger's own operations) is not refused, but counts.
	h.must(teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: "agt_a", To: "agt_b", Amount: avt.AVT(2000)})
	if used := h.m.accounts["agt_a"].Spent.Used(h.now); used != avt.AVT(3000) {
		t.Fatalf("used = %s", used)
	}
	if r := h.one(limited(h.id(), "agt_a", "agt_b", 101)); code(r.Err) != "TRANSFER_LIMIT_EXCEEDED" {
		t.Fatalf("over the per-transfer limit: %v", r.Err)
	}
	h.verify()
}

func TestDailyLimit_LinkedBatchCountsEachTransfer(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	var cmds []teg.Command
	for range 11 {
		cmds = append(cmds, limited(h.id(), "agt_a", "agt_b", 91))
	}
	if _, err := h.run(true, cmds...); code(err) != "DAILY_LIMIT_EXCEEDED" {
		t.Fatalf("linked batch of 11 × 91: %v", err)
	}
	if h.liquid("agt_a") != avt.AVT(1000) || len(h.m.accounts["agt_a"].Spent) != 0 {
		t.Fatalf("a refused batch changed the account: %+v", h.m.accounts["agt_a"])
	}
	if _, err := h.run(true, cmds[:10]...); err != nil {
		t.Fatal(err)
	}
}

func TestAccountStatus_SuspendedSendsNothingRevokedIsFinal(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	hold := h.must(teg.Command{Kind: teg.KindPending, ID: h.id(), From: "agt_a", To: "agt_b", Amount: avt.AVT(5)})
	h.must(teg.Command{Kind: teg.KindStatus, ID: h.id(), To: "agt_a", Status: teg.AccountSuspended})
	for _, c := range []teg.Command{
		{Kind: teg.KindTransfer, ID: h.id(), From: "agt_a", To: "agt_b", Amount: avt.AVT(1)},
		{Kind: teg.KindPending, ID: h.id(), From: "agt_a", To: "agt_b", Amount: avt.AVT(1)},
		{Kind: teg.KindPost, ID: h.id(), PendingID: hold.ID},
	} {
		if r := h.one(c); code(r.Err) != "ACCOUNT_SUSPENDED" {
			t.Fatalf("%v: %v", c, r.Err)
		}
	}
	h.must(teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: "agt_b", To: "agt_a", Amount: avt.AVT(1)})
	h.must(teg.Command{Kind: teg.KindVoid, ID: h.id(), PendingID: hold.ID})
	h.must(teg.Command{Kind: teg.KindStatus, ID: h.id(), To: "agt_a", Status: teg.AccountRevoked})
	if r := h.one(teg.Command{Kind: teg.KindStatus, ID: h.id(), To: "agt_a", Status: teg.AccountActive}); code(r.Err) != "ACCOUNT_REVOKED" {
		t.Fatalf("reactivating a revoked account: %v", r.Err)
	}
	if r := h.one(teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: "agt_b", To: "agt_a", Amount: avt.AVT(1)}); code(r.Err) != "ACCOUNT_REVOKED" {
		t.Fatalf("paying a revoked account: %v", r.Err)
	}
	for _, c := range []teg.Command{
		{Kind: teg.KindStatus, ID: h.id(), To: "agt_a", Status: "frozen"},
		{Kind: teg.KindStatus, ID: h.id(), To: teg.Treasury, Status: teg.AccountSuspended},
	} {
		if r := h.one(c); r.Err == nil {
			t.Fatalf("%v accepted", c)
		}
	}
	h.verify()
	// The verifier replays statuses: a stored status the log does not say is a mismatch.
	v := teg.NewVerifier()
	for _, e := range h.m.events {
		if err := v.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var stored []teg.Account
	for _, a := range h.m.accounts {
		if a.ID == "agt_a" {
			a.Status = teg.AccountActive
		}
		stored = append(stored, a)
	}
	if _, err := v.Check(stored, h.m.head); err == nil {
		t.Fatal("a status changed behind the log's back was not detected")
	}
}

func TestMint_BoundedByMaxSupply(t *testing.T) {
	h := newHarness(t)
	h.l.Params.MaxSupply = avt.AVT(1_500_000)
	h.fund("agt_a")
	if r := h.one(teg.Command{Kind: teg.KindMint, ID: h.id(), Amount: avt.AVT(500_001)}); code(r.Err) != "SUPPLY_LIMIT_EXCEEDED" {
		t.Fatalf("mint past the supply: %v", r.Err)
	}
	if r := h.one(teg.Command{Kind: teg.KindMint, ID: h.id(), Amount: avt.Max}); code(r.Err) != "SUPPLY_LIMIT_EXCEEDED" {
		t.Fatalf("mint of the largest amount: %v", r.Err)
	}
	h.must(teg.Command{Kind: teg.KindMint, ID: h.id(), Amount: avt.AVT(500_000)})
	if h.m.head.Minted != avt.AVT(1_500_000) {
		t.Fatalf("head minted %s", h.m.head.Minted)
	}
	// Burning does not make room: the bound is on all AVT ever minted.
	h.must(teg.Command{Kind: teg.KindBurn, ID: h.id(), From: "agt_a", Amount: avt.AVT(10)})
	if r := h.one(teg.Command{Kind: teg.KindMint, ID: h.id(), Amount: avt.AVT(1)}); code(r.Err) != "SUPPLY_LIMIT_EXCEEDED" {
		t.Fatalf("mint after a burn: %v", r.Err)
	}
	if rep := h.verify(); rep.Minted != avt.AVT(1_500_000) {
		t.Fatalf("report %+v", rep)
	}
}

// The verifier reports an overflow instead of ignoring it: a log minting past the amount range
// (which the ledger now refuses, and an older version accepted) fails verification.
func TestVerifier_ReportsOverflow(t *testing.T) {
	half, _ := avt.Max.Sub(avt.AVT(1))
	var events []teg.Event
	head := teg.Head{Hash: teg.GenesisHash}
	for i, amt := range []avt.Amount{half, avt.AVT(2)} {
		e := teg.Event{Seq: uint64(i + 1), Time: time.Unix(0, 0).UTC(), Kind: teg.KindMint, TransferID: "m" + string(rune('0'+i)),
			Postings: []teg.Posting{{Account: teg.Treasury, Part: teg.Liquid, Amount: amt}}, PrevHash: head.Hash}
		e.Hash = e.ComputeHash()
		head = teg.Head{Seq: e.Seq, Hash: e.Hash}
		events = append(events, e)
	}
	if replay(events) == nil {
		t.Fatal("an overflowing mint verified")
	}
}

// The tier table of the ledger and the policy's agree: the tier the policy sees for a score is
// the tier whose limits the ledger applies.
func TestTiers_LedgerAndPolicyAgree(t *testing.T) {
	e := policy.New()
	p := teg.DefaultParams()
	wallet := policy.Resource{Kind: "wallet", ID: "agt_1", Owner: "agt_1"}
	for rep := 1; rep <= 1000; rep++ {
		want := p.TierOf("", rep).Name
		d, err := e.Decide(context.Background(), policy.QueryAllow, policy.Input{
			Subject: policy.Subject{Kind: policy.KindAgent, ID: "agt_1", Reputation: rep, Stake: "1000"},
			Action:  policy.ActionDisputeArbitrate, Resource: wallet})
		if err != nil {
			t.Fatal(err)
		}
		verified := want == teg.TierVerified || want == teg.TierElite
		if d.Allow != verified || (!verified && d.Reason != "dispute.arbitrate requires the Verified tier or above; the subject is "+want) {
			t.Fatalf("reputation %d: ledger tier %s, policy %+v", rep, want, d)
		}
	}
	for _, c := range []struct {
		tier string
		rep  int
		want string
	}{{"", 0, "New"}, {"Untrusted", 0, "Untrusted"}, {"Elite", 0, "Elite"}, {"Godlike", 0, "New"}, {"Elite", 150, "New"}} {
		if got := p.TierOf(c.tier, c.rep); got.Name != c.want {
			t.Errorf("TierOf(%q, %d) = %s, want %s", c.tier, c.rep, got.Name, c.want)
		}
	}
	if l := p.LimitsFor("", 950); l.PerTransfer != avt.AVT(1_000_000) || l.Daily != avt.AVT(10_000_000) {
		t.Fatalf("Elite limits %+v", l)
	}
}

// SpendWindow's Used is the sum of what was added in the last 24 hour buckets, less refunds of
// holds placed within them, never below zero — checked against a brute-force model.
func TestSpendWindow_Properties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		now := start
		var w teg.SpendWindow
		type add struct {
			hour int64
			amt  uint64
		}
		var model []add // net amount per add, refunds subtracted from their own hour
		for range rapid.IntRange(1, 60).Draw(rt, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(0, 600).Draw(rt, "minutes")) * time.Minute)
			h := now.Unix() / 3600
			if rapid.Bool().Draw(rt, "refund") && len(model) > 0 {
				i := rapid.IntRange(0, len(model)-1).Draw(rt, "which")
				amt := uint64(rapid.IntRange(0, 200).Draw(rt, "refund_amount"))
				at := time.Unix(model[i].hour*3600, 0).UTC()
				w = w.Refund(at, now, avt.FromUnits(amt))
				if model[i].hour > h-teg.WindowHours {
					// subtract from that hour's total in the model, not below zero
					left := amt
					for j := range model {
						if model[j].hour == model[i].hour && left > 0 {
							d := min(left, model[j].amt)
							model[j].amt -= d
							left -= d
						}
					}
				}
			} else {
				amt := uint64(rapid.IntRange(1, 100).Draw(rt, "amount"))
				w = w.Add(now, avt.FromUnits(amt))
				model = append(model, add{h, amt})
			}
			var want uint64
			for _, a := range model {
				if a.hour > h-teg.WindowHours && a.hour <= h {
					want += a.amt
				}
			}
			if got := w.Used(now); got != avt.FromUnits(want) {
				rt.Fatalf("at %v: used %s, want %d units", now, got, want)
			}
			if len(w) > teg.WindowHours {
				rt.Fatalf("%d buckets", len(w))
			}
		}
	})
}
