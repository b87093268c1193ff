package teg_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// memState is an in-memory Reader that commits Changes: the test double of the SQL adapter.
type memState struct {
	accounts  map[teg.AccountID]teg.Account
	transfers map[string]teg.Transfer
	events    []teg.Event
	head      teg.Head
}

func newMem() *memState {
	return &memState{accounts: map[teg.AccountID]teg.Account{}, transfers: map[string]teg.Transfer{}}
}

func (m *memState) Account(_ context.Context, id teg.AccountID) (teg.Account, error) {
	a, ok := m.accounts[id]
	if !ok {
		return teg.Account{}, teg.ErrAccountNotFound
	}
	return a, nil
}

func (m *memState) Transfer(_ context.Context, id string) (teg.Transfer, bool, error) {
	t, ok := m.transfers[id]
	return t, ok, nil
}

func (m *memState) commit(ch *teg.Changes) {
	for _, a := range ch.Accounts {
		m.accounts[a.ID] = a
	}
	for _, t := range ch.Transfers {
		m.transfers[t.ID] = t
	}
	m.events = append(m.events, ch.Events...)
	m.head = ch.Head
}

type harness struct {
	t   testing.TB
	l   *teg.Ledger
	m   *memState
	now time.Time
	seq int
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, m: newMem(), now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	h.l = &teg.Ledger{Params: teg.DefaultParams(), Now: func() time.Time { return h.now }}
	return h
}

func (h *harness) id() string { h.seq++; return fmt.Sprintf("tx-%d", h.seq) }

// run applies cmds and commits the changes; it returns the results.
func (h *harness) run(linked bool, cmds ...teg.Command) ([]teg.Result, error) {
	h.t.Helper()
	ch, res, err := h.l.Apply(context.Background(), h.m, h.m.head, cmds, linked)
	if err != nil {
		return nil, err
	}
	h.m.commit(ch)
	return res, nil
}

func (h *harness) one(c teg.Command) teg.Result {
	h.t.Helper()
	res, err := h.run(false, c)
	if err != nil {
		h.t.Fatalf("%v: %v", c, err)
	}
	return res[0]
}

func (h *harness) must(c teg.Command) teg.Transfer {
	h.t.Helper()
	r := h.one(c)
	if r.Err != nil {
		h.t.Fatalf("%v: %v", c, r.Err)
	}
	return r.Transfer
}

func (h *harness) liquid(id teg.AccountID) avt.Amount { return h.m.accounts[id].Liquid }

func code(err error) string { return apperr.CodeOf(err) }

func (h *harness) fund(ids ...teg.AccountID) {
	h.must(teg.Command{Kind: teg.KindMint, ID: h.id(), Amount: avt.AVT(1_000_000)})
	for _, id := range ids {
		h.must(teg.Command{Kind: teg.KindOpen, ID: h.id(), To: id})
		h.must(teg.Command{Kind: teg.KindGrant, ID: h.id(), To: id, Amount: avt.AVT(1000)})
	}
}

func (h *harness) verify() teg.Report {
	h.t.Helper()
	v := teg.NewVerifier()
	for _, e := range h.m.events {
		if err := v.Add(e); err != nil {
			h.t.Fatal(err)
		}
	}
	var stored []teg.Account
	for _, a := range h.m.accounts {
		stored = append(stored, a)
	}
	r, err := v.Check(stored, h.m.head)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func TestTransfer_MovesAmountAndSplitsTheFeeExactly(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	tr := h.must(teg.Command{Kind: teg.KindTransfer, ID: "t1", From: "agt_a", To: "agt_b", Amount: avt.MustParse("100"), Message: "thanks"})
	if tr.Fee != avt.MustParse("0.1") {
		t.Fatalf("fee %s, want 0.1", tr.Fee)
	}
	if got := h.liquid("agt_a"); got != avt.MustParse("899.9") {
		t.Fatalf("sender %s", got)
	}
	if got := h.liquid("agt_b"); got != avt.MustParse("1100") {
		t.Fatalf("receiver %s", got)
	}
	for id, want := range map[teg.AccountID]string{teg.ValidatorPool: "0.03", teg.StakingPool: "0.02", teg.Burn: "0.01"} {
		if got := h.liquid(id); got != avt.MustParse(want) {
			t.Errorf("%s = %s, want %s", id, got, want)
		}
	}
	e := h.m.events[len(h.m.events)-1]
	if e.TransferID != "t1" || e.Data != nil {
		t.Fatalf("event %+v", e)
	}
	if shares := checkFeePostings(t, e, tr); shares[teg.Treasury] != avt.MustParse("0.04") {
		t.Fatalf("treasury share %s, want 0.04", shares[teg.Treasury])
	}
	r := h.verify()
	if r.Burned != avt.MustParse("0.01") || r.Minted != avt.AVT(1_000_000) {
		t.Fatalf("report %+v", r)
	}
}

// fataler is what checks need of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// feeShares are the shares of the default fee schedule, in basis points; the treasury also gets
// the rounding remainder.
var feeShares = []struct {
	id  teg.AccountID
	bps uint64
}{{teg.Treasury, 4000}, {teg.ValidatorPool, 3000}, {teg.StakingPool, 2000}, {teg.Burn, 1000}}

// checkFeePostings checks that the event of a fee-paying transfer (a transfer or a post) records
// its fee in its postings: a debit of exactly tr.Fee from the payer (from the liquid balance for a
// transfer, the locked one for a post), and credits to the four system accounts that split it
// exactly 40/30/20/10 (floors; the remainder to the treasury) and add up to it. It returns the
// shares by account.
func checkFeePostings(t fataler, e teg.Event, tr teg.Transfer) map[teg.AccountID]avt.Amount {
	t.Helper()
	if tr.Seq != e.Seq || tr.ID != e.TransferID || tr.Kind != e.Kind {
		t.Fatalf("event %d (%s %s): transfer %+v", e.Seq, e.Kind, e.TransferID, tr)
	}
	if len(e.Data) != 0 {
		t.Fatalf("event %d: data %v; the fee is in the postings only", e.Seq, e.Data)
	}
	if tr.Fee.IsZero() {
		t.Fatalf("event %d: transfer %s paid no fee", e.Seq, tr.ID)
	}
	part := teg.Liquid
	if e.Kind == teg.KindPost {
		part = teg.Locked
	}
	charged := false
	shares := map[teg.AccountID]avt.Amount{}
	for i, p := range e.Postings {
		switch {
		case p.Debit && p.Account == tr.From && p.Part == part && p.Amount == tr.Fee && i >= 2:
			charged = true // postings 0 and 1 move the amount
		case !p.Debit && p.Account.IsSystem() && p.Account != tr.To:
			if p.Part != teg.Liquid {
				t.Fatalf("event %d: fee share %+v not liquid", e.Seq, p)
			}
			shares[p.Account], _ = shares[p.Account].Add(p.Amount)
		}
	}
	if !charged {
		t.Fatalf("event %d: no debit of the fee %s from %s in %+v", e.Seq, tr.Fee, tr.From, e.Postings)
	}
	var sum, rest avt.Amount
	for _, s := range feeShares[1:] {
		rest, _ = rest.Add(tr.Fee.MulDivFloor(s.bps, 10000))
	}
	for _, s := range feeShares {
		want := tr.Fee.MulDivFloor(s.bps, 10000)
		if s.id == teg.Treasury {
			want, _ = tr.Fee.Sub(rest)
		}
		if shares[s.id] != want {
			t.Fatalf("event %d: %s got %s of the fee %s, want %s", e.Seq, s.id, shares[s.id], tr.Fee, want)
		}
		sum, _ = sum.Add(shares[s.id])
	}
	if len(shares) > len(feeShares) {
		t.Fatalf("event %d: fee shares %v", e.Seq, shares)
	}
	if sum != tr.Fee {
		t.Fatalf("event %d: fee split adds up to %s, not the fee %s", e.Seq, sum, tr.Fee)
	}
	return shares
}

func TestTransfer_RejectsBadInputAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	before := h.m.head
	cases := []struct {
		c    teg.Command
		code string
	}{
		{teg.Command{Kind: teg.KindTransfer, ID: "x1", From: "agt_a", To: "agt_b"}, "INVALID_AMOUNT"},
		{teg.Command{Kind: teg.KindTransfer, ID: "x2", From: "agt_a", To: "agt_a", Amount: avt.AVT(1)}, "SELF_TRANSFER"},
		{teg.Command{Kind: teg.KindTransfer, ID: "x3", From: "agt_a", To: "agt_nobody", Amount: avt.AVT(1)}, "ACCOUNT_NOT_FOUND"},
		{teg.Command{Kind: teg.KindTransfer, ID: "x4", From: "agt_nobody", To: "agt_a", Amount: avt.AVT(1)}, "ACCOUNT_NOT_FOUND"},
		{teg.Command{Kind: teg.KindTransfer, ID: "x5", From: "agt_a", To: "agt_b", Amount: avt.AVT(1000)}, "INSUFFICIENT_BALANCE"},
		{teg.Command{Kind: teg.KindTransfer, ID: "x6", From: "agt_a", To: "agt_b", Amount: avt.AVT(1), Message: string(make([]byte, 257))}, "MESSAGE_TOO_LONG"},
		{teg.Command{Kind: teg.KindTransfer, ID: "", From: "agt_a", To: "agt_b", Amount: avt.AVT(1)}, "INVALID_TRANSFER_ID"},
		{teg.Command{Kind: "teleport", ID: "x7", From: "agt_a", To: "agt_b", Amount: avt.AVT(1)}, "INVALID_COMMAND"},
		{teg.Command{Kind: teg.KindPending, ID: "x8", From: "agt_a", To: "agt_b", Amount: avt.AVT(1), Timeout: time.Millisecond}, "INVALID_TIMEOUT"},
		{teg.Command{Kind: teg.KindPost, ID: "x9", PendingID: "nope"}, "PENDING_NOT_FOUND"},
	}
	for _, c := range cases {
		if r := h.one(c.c); code(r.Err) != c.code {
			t.Errorf("%v: %v, want %s", c.c, r.Err, c.code)
		}
	}
	r := h.one(teg.Command{Kind: teg.KindTransfer, ID: "x10", From: "agt_a", To: "agt_b", Amount: avt.AVT(1000)})
	d := r.Err.(*apperr.Error).Details
	if d["required"] != "1001" || d["available"] != "1000" {
		t.Fatalf("INSUFFICIENT_BALANCE details %v", d)
	}
	if h.m.head != before {
		t.Fatal("a refused command wrote an event")
	}
	h.verify()
}

func TestIdempotency_ReplayReturnsFirstResult_ReuseIsRefused(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	c := teg.Command{Kind: teg.KindTransfer, ID: "once", From: "agt_a", To: "agt_b", Amount: avt.AVT(5)}
	first := h.must(c)
	head := h.m.head
	again := h.one(c)
	if again.Err != nil || !again.Replayed || again.Transfer.Seq != first.Seq || h.m.head != head {
		t.Fatalf("replay = %+v", again)
	}
	c.Amount = avt.AVT(6)
	if r := h.one(c); code(r.Err) != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reuse = %v", r.Err)
	}
	if h.liquid("agt_b") != avt.AVT(1005) {
		t.Fatalf("receiver %s", h.liquid("agt_b"))
	}
}

func TestLinkedBatch_IsAllOrNothingAndNamesTheBadIndex(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b", "agt_c")
	head := h.m.head
	_, err := h.run(true,
		teg.Command{Kind: teg.KindTransfer, ID: "b1", From: "agt_a", To: "agt_b", Amount: avt.AVT(10)},
		teg.Command{Kind: teg.KindTransfer, ID: "b2", From: "agt_b", To: "agt_c", Amount: avt.AVT(5000)},
		teg.Command{Kind: teg.KindTransfer, ID: "b3", From: "agt_c", To: "agt_a", Amount: avt.AVT(1)},
	)
	ae, ok := apperr.As(err)
	if !ok || ae.Code != "INSUFFICIENT_BALANCE" || ae.Details["index"] != 1 {
		t.Fatalf("linked batch error %v", err)
	}
	if h.m.head != head || h.liquid("agt_a") != avt.AVT(1000) {
		t.Fatal("a failed linked batch changed state")
	}
	// The same batch without the bad transfer applies, and later commands see earlier ones.
	res, err := h.run(true,
		teg.Command{Kind: teg.KindTransfer, ID: "b1", From: "agt_a", To: "agt_b", Amount: avt.AVT(10)},
		teg.Command{Kind: teg.KindTransfer, ID: "b2", From: "agt_b", To: "agt_c", Amount: avt.AVT(1000)},
	)
	if err != nil || res[1].Err != nil {
		t.Fatalf("batch: %v %v", err, res)
	}
	if _, err := h.run(true, teg.Command{Kind: teg.KindTransfer, ID: "d", From: "agt_a", To: "agt_b", Amount: avt.AVT(1)},
		teg.Command{Kind: teg.KindTransfer, ID: "d", From: "agt_a", To: "agt_b", Amount: avt.AVT(1)}); code(err) != "DUPLICATE_ID_IN_BATCH" {
		t.Fatalf("duplicate ids: %v", err)
	}
	if _, err := h.run(true); code(err) != "EMPTY_BATCH" {
		t.Fatalf("empty: %v", err)
	}
	big := make([]teg.Command, teg.MaxBatch+1)
	if _, err := h.run(true, big...); code(err) != "BATCH_TOO_LARGE" {
		t.Fatalf("too large: %v", err)
	}
	h.verify()
}

func TestPending_PostPartialVoidAndExpire(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	p := h.must(teg.Command{Kind: teg.KindPending, ID: "p1", From: "agt_a", To: "agt_b", Amount: avt.AVT(100), Timeout: time.Minute})
	if h.m.accounts["agt_a"].Locked != avt.MustParse("100.1") || h.liquid("agt_a") != avt.MustParse("899.9") {
		t.Fatalf("after pending: %+v", h.m.accounts["agt_a"])
	}
	h.must(teg.Command{Kind: teg.KindPost, ID: "post1", PendingID: p.ID, Amount: avt.AVT(40), Partial: true})
	a := h.m.accounts["agt_a"]
	if !a.Locked.IsZero() || a.Liquid != avt.MustParse("959.96") || h.liquid("agt_b") != avt.AVT(1040) {
		t.Fatalf("after partial post: %+v, b=%s", a, h.liquid("agt_b"))
	}
	if r := h.one(teg.Command{Kind: teg.KindVoid, ID: "void1", PendingID: p.ID}); code(r.Err) != "PENDING_NOT_ACTIVE" {
		t.Fatalf("void after post: %v", r.Err)
	}

	p2 := h.must(teg.Command{Kind: teg.KindPending, ID: "p2", From: "agt_a", To: "agt_b", Amount: avt.AVT(10), Timeout: time.Minute})
	h.must(teg.Command{Kind: teg.KindVoid, ID: "void2", PendingID: p2.ID})
	if r := h.one(teg.Command{Kind: teg.KindPost, ID: "post2", PendingID: p2.ID}); code(r.Err) != "PENDING_NOT_ACTIVE" {
		t.Fatalf("post after void: %v", r.Err)
	}

	p3 := h.must(teg.Command{Kind: teg.KindPending, ID: "p3", From: "agt_a", To: "agt_b", Amount: avt.AVT(10), Timeout: time.Minute})
	if r := h.one(teg.Command{Kind: teg.KindPost, ID: "post3", PendingID: p3.ID, Amount: avt.AVT(11), Partial: true}); code(r.Err) != "POST_EXCEEDS_PENDING" {
		t.Fatalf("post over: %v", r.Err)
	}
	if r := h.one(teg.Command{Kind: teg.KindExpire, ID: "exp-early", PendingID: p3.ID}); code(r.Err) != "PENDING_NOT_ACTIVE" {
		t.Fatalf("early expire: %v", r.Err)
	}
	h.now = h.now.Add(2 * time.Minute)
	if r := h.one(teg.Command{Kind: teg.KindPost, ID: "post4", PendingID: p3.ID}); code(r.Err) != "PENDING_EXPIRED" {
		t.Fatalf("post after expiry: %v", r.Err)
	}
	h.must(teg.Command{Kind: teg.KindExpire, ID: "exp3", PendingID: p3.ID})
	if got := h.m.transfers["p3"].State; got != teg.PendingExpired {
		t.Fatalf("p3 state %s", got)
	}
	if !h.m.accounts["agt_a"].Locked.IsZero() {
		t.Fatal("expired funds still locked")
	}
	h.verify()
}

func TestVerifier_DetectsTampering(t *testing.T) {
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	h.must(teg.Command{Kind: teg.KindTransfer, ID: "t", From: "agt_a", To: "agt_b", Amount: avt.AVT(3)})
	events := append([]teg.Event(nil), h.m.events...)
	for i := range events {
		if len(events[i].Postings) > 0 && events[i].Kind == teg.KindTransfer {
			events[i].Postings = append([]teg.Posting(nil), events[i].Postings...)
			events[i].Postings[0].Amount = avt.AVT(999)
			break
		}
	}
	if replay(events) == nil {
		t.Fatal("altered event not detected")
	}
	// A balance changed behind the log's back.
	v := teg.NewVerifier()
	for _, e := range h.m.events {
		_ = v.Add(e)
	}
	var stored []teg.Account
	for _, a := range h.m.accounts {
		if a.ID == "agt_b" {
			a.Liquid = avt.AVT(1)
		}
		stored = append(stored, a)
	}
	if _, err := v.Check(stored, h.m.head); err == nil {
		t.Fatal("stored balance mismatch not detected")
	}
}

// TestLedger_Properties applies random sequences of every command kind, including replays,
// reuses and linked batches, and checks after each step: supply is conserved (Σ all balances =
// minted), replays change nothing and return the first result, every fee splits exactly, and the
// whole log verifies.
func TestLedger_Properties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		h := newHarness(t)
		accts := []teg.AccountID{"agt_a", "agt_b", "agt_c", "agt_d"}
		h.fund(accts...)
		var applied []teg.Command
		var pendings []string
		amount := func(label string) avt.Amount {
			return avt.FromUnits(rapid.Uint64Range(1, 2_000_000_000_000_000_000).Draw(rt, label)).MulDivFloor(rapid.Uint64Range(1, 700).Draw(rt, label+"x"), 1)
		}
		for step := rapid.IntRange(1, 40).Draw(rt, "steps"); step > 0; step-- {
			from := rapid.SampledFrom(accts).Draw(rt, "from")
			to := rapid.SampledFrom(accts).Draw(rt, "to")
			var c teg.Command
			switch rapid.IntRange(0, 8).Draw(rt, "kind") {
			case 0, 1:
				c = teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: from, To: to, Amount: amount("amt")}
			case 2:
				c = teg.Command{Kind: teg.KindPending, ID: h.id(), From: from, To: to, Amount: amount("amt"), Timeout: time.Minute}
			case 3:
				if len(pendings) == 0 {
					continue
				}
				c = teg.Command{Kind: teg.KindPost, ID: h.id(), PendingID: rapid.SampledFrom(pendings).Draw(rt, "p"), Amount: amount("amt"), Partial: rapid.Bool().Draw(rt, "partial")}
			case 4:
				if len(pendings) == 0 {
					continue
				}
				c = teg.Command{Kind: teg.KindVoid, ID: h.id(), PendingID: rapid.SampledFrom(pendings).Draw(rt, "p")}
			case 5:
				c = teg.Command{Kind: teg.KindBurn, ID: h.id(), From: from, Amount: amount("amt")}
			case 6:
				if len(applied) == 0 {
					continue
				}
				prev := rapid.SampledFrom(applied).Draw(rt, "replay")
				head := h.m.head
				r := h.one(prev)
				if r.Err != nil || !r.Replayed || h.m.head != head {
					rt.Fatalf("replay of %v: %+v", prev, r)
				}
				prev.Message = "different"
				if r := h.one(prev); code(r.Err) != "IDEMPOTENCY_KEY_REUSED" {
					rt.Fatalf("reuse of %v: %v", prev, r.Err)
				}
				continue
			case 7:
				h.now = h.now.Add(time.Duration(rapid.IntRange(0, 90).Draw(rt, "secs")) * time.Second)
				continue
			case 8:
				n := rapid.IntRange(1, 5).Draw(rt, "n")
				var batch []teg.Command
				for range n {
					batch = append(batch, teg.Command{Kind: teg.KindTransfer, ID: h.id(), From: rapid.SampledFrom(accts).Draw(rt, "bf"), To: rapid.SampledFrom(accts).Draw(rt, "bt"), Amount: amount("ba")})
				}
				head := h.m.head
				res, err := h.run(true, batch...)
				if err != nil {
					if h.m.head != head {
						rt.Fatal("failed linked batch changed the head")
					}
				} else {
					for _, r := range res {
						if r.Err != nil {
							rt.Fatalf("linked batch result error without batch error: %v", r.Err)
						}
					}
					applied = append(applied, batch...)
				}
				continue
			}
			r := h.one(c)
			if r.Err == nil {
				applied = append(applied, c)
				if c.Kind == teg.KindPending {
					pendings = append(pendings, c.ID)
				}
			} else if apperr.KindOf(r.Err) == apperr.Internal {
				rt.Fatalf("%v: internal error %v", c, r.Err)
			}
			// Conservation: Σ all balances (burn sink included) = minted.
			var total avt.Amount
			for _, a := range h.m.accounts {
				total, _ = total.Add(a.Total())
			}
			if total != avt.AVT(1_000_000) {
				rt.Fatalf("after %v: Σ balances %s ≠ minted", c, total)
			}
		}
		// Every fee is charged and split exactly, as the postings of its event record.
		for _, e := range h.m.events {
			if e.Kind == teg.KindTransfer || e.Kind == teg.KindPost {
				checkFeePostings(rt, e, h.m.transfers[e.TransferID])
			}
		}
		h.verify()
	})
}

// TestCanonicalEncoding_IsStable pins the hash of an event and the fingerprint of a command to
// values computed by the first implementation: stored events must keep verifying, so the
// canonical encoding may never change (data, which events no longer carry, included).
func TestCanonicalEncoding_IsStable(t *testing.T) {
	e := teg.Event{Seq: 42, Time: time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.FixedZone("x", 3600)), Kind: teg.KindTransfer,
		TransferID: "t1", PrevHash: teg.GenesisHash, Postings: []teg.Posting{
			{Account: "agt_a", Part: teg.Liquid, Amount: avt.MustParse("100"), Debit: true},
			{Account: "agt_b", Part: teg.Liquid, Amount: avt.MustParse("100")},
			{Account: teg.Burn, Part: teg.Locked, Amount: avt.Max},
		}}
	for _, c := range []struct {
		data map[string]string
		want string
	}{
		{nil, "189083d43e0a404eee1582aa3854fe55d7395c1e9394e9a81237e3d1609e28d5"},
		{map[string]string{"fee": "0.1", "fee_treasury": "0.04", "fee_validators": "0.03", "fee_stakers": "0.02", "fee_burn": "0.01"},
			"f3562b3dd2dd5e13bfbcb642fda0e2492f7511644eb96db923ef27cf6ef41e38"},
	} {
		e.Data = c.data
		if got := e.ComputeHash(); got != c.want {
			t.Errorf("hash with data %v = %s, want %s", c.data, got, c.want)
		}
	}
	e.Data, e.Postings = map[string]string{}, nil
	if got := e.ComputeHash(); got != "bae934793348c912d6bc4f5d465e0efc3cdf0bbc83f23fc83991963ace04b227" {
		t.Errorf("hash without postings = %s", got)
	}
	c := teg.Command{Kind: teg.KindPending, ID: "p1", From: "agt_a", To: "agt_b", Amount: avt.MustParse("1.5"), Message: "hi",
		PendingID: "x", Timeout: time.Minute, Partial: true}
	if got := c.Fingerprint(); got != "49eba845540e93b82fd01ae2d51d4ae9" {
		t.Errorf("fingerprint = %s", got)
	}
	if got := (teg.Command{}).Fingerprint(); got != "5b6fb58e61fa475939767d68a446f97f" {
		t.Errorf("fingerprint of the zero command = %s", got)
	}
	// The ledger computes both on its own path: they must agree with the exported ones.
	h := newHarness(t)
	h.fund("agt_a", "agt_b")
	c = teg.Command{Kind: teg.KindTransfer, ID: "t1", From: "agt_a", To: "agt_b", Amount: avt.AVT(2), Message: "m"}
	if tr := h.must(c); tr.Fingerprint != c.Fingerprint() {
		t.Errorf("transfer fingerprint %s, command's %s", tr.Fingerprint, c.Fingerprint())
	}
	for _, e := range h.m.events {
		if e.ComputeHash() != e.Hash {
			t.Errorf("event %d: hash %s, computed %s", e.Seq, e.Hash, e.ComputeHash())
		}
	}
}

// replay feeds events to a new verifier and returns the first error it reports.
func replay(events []teg.Event) error {
	v := teg.NewVerifier()
	for _, e := range events {
		if err := v.Add(e); err != nil {
			return err
		}
	}
	return nil
}
