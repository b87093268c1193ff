package soak

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// windows: steady-0 [0,10), kill [10,15), steady-1 [15,30)
func recorder() *Recorder {
	r := &Recorder{}
	r.Open("steady-0", false, at(0))
	r.Open("kill", true, at(10))
	r.Open("steady-1", false, at(15))
	r.Close(at(30))
	return r
}

func TestSummarize_PutsOperationsInTheirWindows(t *testing.T) {
	r := recorder()
	boom := errors.New("connection refused")
	for i := 0; i < 100; i++ { // steady-0: 100 quick successes
		r.Record("search", at(float64(i)*0.05), 10*time.Millisecond, nil)
	}
	r.Record("transfer", at(9), 2*time.Second, boom)                // started steady, ran into the fault: the fault's
	r.Record("transfer", at(11), time.Millisecond, boom)            // in the fault
	r.Record("transfer", at(12), 20*time.Millisecond, nil)          // in the fault, a success
	r.Record("search", at(20), 5*time.Millisecond, errors.New("x")) // steady-1's error
	r.Record("search", at(31), 5*time.Millisecond, nil)             // after the close: the last window
	r.Record("search", at(-1), 5*time.Millisecond, nil)             // before the first window
	s := r.Summarize()
	if len(s.Windows) != 3 {
		t.Fatalf("windows: %+v", s.Windows)
	}
	w0, kill, w1 := s.Windows[0], s.Windows[1], s.Windows[2]
	if w0.Ops != 100 || w0.Errors != 0 {
		t.Errorf("steady-0: %d ops %d errors", w0.Ops, w0.Errors)
	}
	if kill.Ops != 3 || kill.Errors != 2 || !kill.Fault || kill.ErrorRate() != 2.0/3 || kill.P99 != 20*time.Millisecond {
		t.Errorf("kill: %+v", kill)
	}
	if len(kill.Samples) != 1 || !strings.Contains(kill.Samples[0], "transfer: connection refused (×2)") {
		t.Errorf("kill samples: %q", kill.Samples)
	}
	if w1.Ops != 2 || w1.Errors != 1 {
		t.Errorf("steady-1: %+v", w1)
	}
	if s.SteadyOps != 102 || s.SteadyErrors != 1 || s.Unplaced != 1 {
		t.Errorf("steady %d/%d, unplaced %d", s.SteadyErrors, s.SteadyOps, s.Unplaced)
	}
	if got := s.SteadyErrorRate(); got != 1.0/102 {
		t.Errorf("steady error rate %v", got)
	}
	var search KindStats
	for _, k := range s.Kinds {
		if k.Kind == "search" {
			search = k
		}
	}
	if search.Ops != 103 || search.Errors != 1 || search.P50 != 10*time.Millisecond || search.P99 != 10*time.Millisecond {
		t.Errorf("search: %+v", search)
	}
}

func TestWindowOf(t *testing.T) {
	ws := []Window{{Name: "a", Start: at(0)}, {Name: "f", Fault: true, Start: at(10)}, {Name: "b", Start: at(15)}}
	for _, c := range []struct {
		start, end float64
		want       int
	}{{-1, 0, -1}, {0, 1, 0}, {9, 9.9, 0}, {9, 10.1, 1}, {10, 11, 1}, {14, 16, 1}, {15, 16, 2}, {100, 101, 2}} {
		if got := windowOf(ws, at(c.start), at(c.end)); got != c.want {
			t.Errorf("op %v–%v: window %d, want %d", c.start, c.end, got, c.want)
		}
	}
}

func amt(s string) avt.Amount { return avt.MustParse(s) }

// stores is what a faithful ledger holds for journal j: each transfer once, balances moved.
func faithful(j *Journal, initial map[string]avt.Amount) Stores {
	s := Stores{Accounts: []string{"agt_a", "agt_b"}, Initial: initial, Final: map[string]avt.Amount{}, Cards: map[string]bool{}}
	bal := map[string]avt.Amount{}
	for k, v := range initial {
		bal[k] = v
	}
	for _, t := range j.transfers {
		s.Entries = append(s.Entries, Entry{ID: t.ID, Kind: "transfer", From: t.From, To: t.To, Amount: t.Amount, Fee: t.Fee})
		out, _ := t.Amount.Add(t.Fee)
		bal[t.From], _ = bal[t.From].Sub(out)
		bal[t.To], _ = bal[t.To].Add(t.Amount)
	}
	for k, v := range bal {
		s.Final[k] = v
	}
	for _, c := range j.cards {
		s.Cards[CardKey(c)] = true
	}
	for _, p := range j.payments {
		s.Entries = append(s.Entries, Entry{ID: "post_" + p.PendingID, Kind: "post", PendingID: p.PendingID, From: p.Payer, To: p.Payee, Amount: p.Amount})
	}
	return s
}

func journal() *Journal {
	j := &Journal{}
	j.Transfer(Transfer{Key: "k1", ID: "tx1", From: "agt_a", To: "agt_b", Amount: amt("1.5"), Fee: amt("0.0015")})
	j.Transfer(Transfer{Key: "k2", ID: "tx2", From: "agt_b", To: "agt_a", Amount: amt("0.25"), Fee: amt("0.00025")})
	j.Card(Card{Registry: "http://a", ID: "card1"})
	j.Payment(Payment{PendingID: "pend1", Payer: "agt_p", Payee: "agt_q", Amount: amt("0.5")})
	return j
}

var initial = map[string]avt.Amount{"agt_a": amt("100"), "agt_b": amt("100")}

func TestCheck_PassesWhenTheStoresHoldTheJournal(t *testing.T) {
	j := journal()
	s := faithful(j, initial)
	// The histories of both parties list each transfer: read twice, counted once.
	s.Entries = append(s.Entries, s.Entries...)
	// Transfers of other accounts (grants, the payers) are not the journal's business.
	s.Entries = append(s.Entries, Entry{ID: "g1", Kind: "grant", To: "agt_a", Amount: amt("5")})
	c := j.Check(s)
	if !c.OK() || c.Transfers != 2 || c.Cards != 1 || c.Payments != 1 {
		t.Fatalf("check: %+v", c)
	}
}

func TestCheck_FindsEachDiscrepancy(t *testing.T) {
	for name, c := range map[string]struct {
		mutate func(*Stores)
		want   string
	}{
		"lost transfer": {func(s *Stores) { s.Entries = s.Entries[1:] }, "tx1 (agt_a → agt_b, 1.5 AVT) is not in the ledger"},
		"applied twice": {func(s *Stores) {
			s.Entries = append(s.Entries, Entry{ID: "tx9", Kind: "transfer", From: "agt_a", To: "agt_b", Amount: amt("1.5")})
		}, "tx9 (agt_a → agt_b, 1.5 AVT) was never acknowledged"},
		"other amount": {func(s *Stores) { s.Entries[0].Amount = amt("2") }, "is not what was acknowledged"},
		"balance":      {func(s *Stores) { s.Final["agt_b"] = amt("1") }, "balance of agt_b is 1 AVT; the journal says"},
		"no balance":   {func(s *Stores) { delete(s.Final, "agt_a") }, "no final balance of agt_a"},
		"lost card":    {func(s *Stores) { s.Cards["http://a/card1"] = false }, "card card1 is not in registry http://a"},
		"unposted": {func(s *Stores) {
			s.Entries = s.Entries[:2]
		}, "hold pend1 (agt_p → agt_q) was never posted"},
		"posted twice": {func(s *Stores) {
			s.Entries = append(s.Entries, Entry{ID: "post_x", Kind: "post", PendingID: "pend1"})
		}, "hold pend1 was posted 2 times"},
	} {
		t.Run(name, func(t *testing.T) {
			j := journal()
			s := faithful(j, initial)
			c.mutate(&s)
			got := j.Check(s)
			if got.OK() || !strings.Contains(strings.Join(got.Problems, "\n"), c.want) {
				t.Fatalf("problems %q, want one with %q", got.Problems, c.want)
			}
		})
	}
}

func TestCheck_KeyJournaledTwice(t *testing.T) {
	j := journal()
	j.Transfer(Transfer{Key: "k1", ID: "tx3", From: "agt_a", To: "agt_b", Amount: amt("1"), Fee: amt("0.001")})
	if c := j.Check(faithful(j, initial)); c.OK() || !strings.Contains(c.Problems[0], "k1 journaled twice") {
		t.Fatalf("problems %q", c.Problems)
	}
}

func TestReport_FailuresAndMarkdown(t *testing.T) {
	r := recorder()
	for i := 0; i < 200; i++ {
		r.Record("transfer", at(float64(i)*0.05), 3*time.Millisecond, nil)
	}
	r.Record("transfer", at(11), time.Millisecond, errors.New("refused | closed"))
	r.Note("SVID rotations", 2, at(3))
	r.Note("SVID rotations", 1, at(16))
	r.Note("SVID rotations", 1, at(17))
	r.Note("SVID rotations", 5, at(-1)) // before the first window: dropped
	j := journal()
	rep := Report{Command: "sovereign soak --minutes 1", LoadAverage: "1.5", Summary: r.Summarize(), Journal: j.Check(faithful(j, initial)),
		Verify: "teg verify: OK: 9 events", VerifyOK: true, Checks: []NamedCheck{{Name: "SVID rotation", OK: true, Detail: "teg-1: 4 rotations"}}}
	if f := rep.Failures(); len(f) != 0 {
		t.Fatalf("failures %q", f)
	}
	md := rep.Markdown()
	for _, want := range []string{"### Soak run: PASSED", "`sovereign soak --minutes 1` — 30s, load average 1.5", "| transfer | 6.7 | 201 | 1 | 3.0 | 3.0 |",
		"| window | kind | from s | for s | ops | errors | error rate | p99 ms | SVID rotations | first errors |",
		"| steady-0 | steady | 0.0 | 10.0 | 200 | 0 | 0.00 % | 3.0 | 2 |  |",
		"| kill | fault | 10.0 | 5.0 | 1 | 1 | 100.00 % | 0.0 | 0 | transfer: refused / closed (×1) |",
		"| steady-1 | steady | 15.0 | 15.0 | 0 | 0 | 0.00 % | 0.0 | 2 |  |", "error rate 0.000 %", "Journal check: OK — 2 acknowledged transfers",
		"`teg verify`: teg verify: OK: 9 events", "SVID rotation: OK — teg-1: 4 rotations"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	// 3 errors in 203 steady operations is 1.48 %: the run fails, and so do the other checks.
	for i := 0; i < 3; i++ {
		r.Record("search", at(20), time.Millisecond, errors.New("boom"))
	}
	rep.Summary = r.Summarize()
	rep.VerifyOK = false
	rep.Journal.Problems = []string{"lost"}
	rep.Checks[0].OK = false
	f := rep.Failures()
	if len(f) != 4 || !strings.Contains(f[0], "error rate outside the fault windows 1.48 % (3 of 203)") {
		t.Fatalf("failures %q", f)
	}
	if md := rep.Markdown(); !strings.Contains(md, "### Soak run: FAILED") || !strings.Contains(md, "- lost") {
		t.Errorf("failed markdown:\n%s", md)
	}
	if f := (Report{VerifyOK: true}).Failures(); len(f) != 1 || !strings.Contains(f[0], "no operations") {
		t.Errorf("empty run: %q", f)
	}
}
