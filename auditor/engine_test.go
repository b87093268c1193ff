package auditor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/reputation"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// feed numbers payments from seq 1 and runs them through e.
type feed struct {
	t   *testing.T
	e   *Engine
	seq uint64
}

func newFeed(t *testing.T, p Params) *feed { return &feed{t: t, e: NewEngine(p)} }

// pay sends whole AVT from → to at t0+at and returns the flags raised.
func (f *feed) pay(at time.Duration, from, to string, whole uint64) []Flag {
	f.t.Helper()
	f.seq++
	out, err := f.e.Process(context.Background(), []Payment{{Seq: f.seq, Time: t0.Add(at), From: from, To: to, Amount: avt.AVT(whole)}})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func only(p Params, r Rule) Params {
	for _, k := range Rules {
		p.Enabled[k] = k == r
	}
	return p
}

func TestHighVelocity_OverTheCountInTheWindowOncePerBurst(t *testing.T) {
	f := newFeed(t, only(DefaultParams(), HighVelocity))
	for i := range 100 {
		if fl := f.pay(time.Duration(i)*time.Second, "agt_a", fmt.Sprintf("agt_%d", i), 1); len(fl) != 0 {
			t.Fatalf("flagged at %d transfers: %+v", i+1, fl)
		}
	}
	fl := f.pay(100*time.Second, "agt_a", "agt_x", 1)
	if len(fl) != 1 || fl[0].Rule != HighVelocity || fl[0].Subject != "agt_a" || len(fl[0].Evidence) != 101 || fl[0].Evidence[0] != 1 || fl[0].Evidence[100] != 101 {
		t.Fatalf("101st transfer: %+v", fl)
	}
	for i := range 50 {
		if fl := f.pay(101*time.Second+time.Duration(i)*time.Second, "agt_a", "agt_x", 1); len(fl) != 0 {
			t.Fatalf("the same burst flagged again: %+v", fl)
		}
	}
	// Another agent's transfers are its own count; a slow sender is never flagged.
	for i := range 300 {
		if fl := f.pay(time.Duration(i)*4*time.Second, "agt_slow", "agt_y", 1); len(fl) != 0 && i < 75 {
			t.Fatalf("slow sender flagged: %+v", fl)
		}
	}
	// After a quiet spell, a new burst is a new pattern.
	var again []Flag
	for i := range 101 {
		again = append(again, f.pay(time.Hour+time.Duration(i)*time.Second, "agt_a", "agt_x", 1)...)
	}
	if len(again) != 1 || again[0].DedupeKey == fl[0].DedupeKey {
		t.Fatalf("second burst: %+v", again)
	}
}

type limits struct{ floor, per uint64 }

func (l limits) Floor(context.Context) (avt.Amount, error) { return avt.AVT(l.floor), nil }
func (l limits) PerTransfer(context.Context, string) (avt.Amount, error) {
	return avt.AVT(l.per), nil
}

func TestLargeTransfer_SigmaAboveTheMeanOrOverTheTierLimit(t *testing.T) {
	f := newFeed(t, only(DefaultParams(), LargeTransfer))
	// Fewer than 20 transfers: no statistics yet.
	for i := range 19 {
		f.pay(time.Duration(i)*time.Hour, "agt_a", "agt_b", 8+uint64(i%5)) // 8–12 AVT
	}
	if fl := f.pay(20*time.Hour, "agt_a", "agt_b", 1000); len(fl) != 0 {
		t.Fatalf("flagged before the minimum samples: %+v", fl)
	}
	g := newFeed(t, only(DefaultParams(), LargeTransfer))
	for i := range 40 {
		if fl := g.pay(time.Duration(i)*time.Hour, "agt_a", "agt_b", 8+uint64(i%5)); len(fl) != 0 {
			t.Fatalf("honest amount flagged: %+v", fl)
		}
	}
	if fl := g.pay(41*time.Hour, "agt_a", "agt_b", 14); len(fl) != 0 { // within 5σ (σ ≈ 1.4)
		t.Fatalf("14 AVT flagged: %+v", fl)
	}
	fl := g.pay(42*time.Hour, "agt_a", "agt_c", 60)
	if len(fl) != 1 || fl[0].Rule != LargeTransfer || fl[0].Severity != SeverityMedium || !slices.Equal(fl[0].Evidence, []uint64{g.seq}) ||
		!slices.Equal(fl[0].Agents, []string{"agt_a", "agt_c"}) {
		t.Fatalf("60 AVT: %+v", fl)
	}
	// Past the 30-day window the history is forgotten.
	if fl := g.pay(31*24*time.Hour+43*time.Hour, "agt_a", "agt_c", 600); len(fl) != 0 {
		t.Fatalf("flagged on forgotten history: %+v", fl)
	}
	// Over the tier limit: flagged high, whatever the history.
	h := newFeed(t, only(DefaultParams(), LargeTransfer))
	h.e.Limits = limits{floor: 10, per: 100}
	if fl := h.pay(0, "agt_a", "agt_b", 100); len(fl) != 0 {
		t.Fatalf("at the limit: %+v", fl)
	}
	if fl := h.pay(time.Minute, "agt_a", "agt_b", 101); len(fl) != 1 || fl[0].Severity != SeverityHigh {
		t.Fatalf("over the limit: %+v", fl)
	}
	if fl := h.pay(2*time.Minute, "agt_a", "agt_b", 1001); len(fl) != 1 || fl[0].Severity != SeverityCritical {
		t.Fatalf("ten times over the limit: %+v", fl)
	}
}

func TestCircularFlow_BackAtTheOriginWithinHopsAndWindow(t *testing.T) {
	ring := func(p Params, members []string, gap time.Duration, amounts ...uint64) []Flag {
		f := newFeed(t, p)
		var out []Flag
		for i, m := range members {
			out = append(out, f.pay(time.Duration(i)*gap, m, members[(i+1)%len(members)], amounts[i])...)
		}
		return out
	}
	p := only(DefaultParams(), CircularFlow)
	p.CircularMinHops = 2 // round trips too (the default, 3, leaves out reciprocal trade)
	for n := 2; n <= 4; n++ {
		members := []string{"agt_c", "agt_a", "agt_d", "agt_b"}[:n]
		amounts := []uint64{50, 49, 48, 47}
		fl := ring(p, members, time.Minute, amounts...)
		if len(fl) != 1 || fl[0].Subject != "agt_c" || !slices.Equal(fl[0].Agents, members) || len(fl[0].Evidence) != n || fl[0].Evidence[0] != 1 {
			t.Fatalf("%d hops: %+v", n, fl)
		}
	}
	if fl := ring(p, []string{"agt_a", "agt_b", "agt_c", "agt_d", "agt_e"}, time.Minute, 50, 49, 48, 47, 46); len(fl) != 0 {
		t.Fatalf("5 hops flagged: %+v", fl)
	}
	if fl := ring(p, []string{"agt_a", "agt_b", "agt_c"}, 31*time.Minute, 50, 49, 48); len(fl) != 0 {
		t.Fatalf("over an hour flagged: %+v", fl)
	}
	if fl := ring(p, []string{"agt_a", "agt_b", "agt_c"}, time.Minute, 10, 20, 30); len(fl) != 0 {
		t.Fatalf("unrelated growing payments flagged: %+v", fl)
	}
	if fl := ring(p, []string{"agt_a", "agt_b", "agt_c"}, time.Minute, 100, 90, 20); len(fl) != 0 {
		t.Fatalf("a small return flagged: %+v", fl)
	}
	q := only(DefaultParams(), CircularFlow)
	if fl := ring(q, []string{"agt_a", "agt_b"}, time.Minute, 50, 49); len(fl) != 0 {
		t.Fatalf("a round trip flagged with the default min hops (3): %+v", fl)
	}
	// The same ring twice, from another member: one pattern.
	f := newFeed(t, p)
	var out []Flag
	for round := range 2 {
		for i, m := range []string{"agt_a", "agt_b", "agt_c"}[round:] {
			out = append(out, f.pay(time.Duration(round*10+i)*time.Minute, m, []string{"agt_b", "agt_c", "agt_a"}[round+i], 30)...)
		}
	}
	if len(out) != 1 {
		t.Fatalf("a ring seen twice: %+v", out)
	}
}

type dir map[string]AgentInfo

func (d dir) Agents(_ context.Context, ids []string) (map[string]AgentInfo, error) {
	out := map[string]AgentInfo{}
	for _, id := range ids {
		if a, ok := d[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

func TestSybilFunnel_NewAgentsOfOneDeveloperPayingOneAgent(t *testing.T) {
	d := dir{"agt_old": {Developer: "dev_s", CreatedAt: t0.AddDate(-1, 0, 0)}}
	for i := range 6 {
		d[fmt.Sprintf("agt_s%d", i)] = AgentInfo{Developer: "dev_s", CreatedAt: t0.Add(-time.Hour)}
		d[fmt.Sprintf("agt_h%d", i)] = AgentInfo{Developer: fmt.Sprintf("dev_h%d", i), CreatedAt: t0.Add(-time.Hour)}
	}
	f := newFeed(t, only(DefaultParams(), SybilFunnel))
	f.e.Directory = d
	var out []Flag
	// New agents of different developers, an old agent of the sybil developer, one sybil twice.
	for i := range 6 {
		out = append(out, f.pay(time.Duration(i)*time.Minute, fmt.Sprintf("agt_h%d", i), "agt_t", 1)...)
	}
	out = append(out, f.pay(10*time.Minute, "agt_old", "agt_t", 1)...)
	for i := range 4 {
		out = append(out, f.pay(time.Duration(20+i)*time.Minute, fmt.Sprintf("agt_s%d", i), "agt_t", 1)...)
		out = append(out, f.pay(time.Duration(20+i)*time.Minute, fmt.Sprintf("agt_s%d", i), "agt_t", 1)...)
	}
	if len(out) != 0 {
		t.Fatalf("flagged below the threshold: %+v", out)
	}
	out = f.pay(30*time.Minute, "agt_s4", "agt_t", 1)
	if len(out) != 1 || out[0].Subject != "agt_t" || len(out[0].Evidence) != 5 || !slices.Equal(out[0].Agents, []string{"agt_t", "agt_s0", "agt_s1", "agt_s2", "agt_s3", "agt_s4"}) {
		t.Fatalf("fifth sybil: %+v", out)
	}
	if again := f.pay(31*time.Minute, "agt_s5", "agt_t", 1); len(again) != 0 {
		t.Fatalf("sixth sybil flagged again: %+v", again)
	}
	// Spread over more than the window: not a funnel.
	g := newFeed(t, only(DefaultParams(), SybilFunnel))
	g.e.Directory = d
	for i := range 5 {
		if fl := g.pay(time.Duration(i)*7*time.Hour, fmt.Sprintf("agt_s%d", i), "agt_u", 1); len(fl) != 0 {
			t.Fatalf("spread-out payments flagged: %+v", fl)
		}
	}
}

type ratings []reputation.Rating

func (r ratings) EachRating(_ context.Context, fn func(reputation.Rating) error) error {
	for _, x := range r {
		if err := fn(x); err != nil {
			return err
		}
	}
	return nil
}

func TestFindRings_MaximalCliquesOfMutualTopRatings(t *testing.T) {
	var rs ratings
	n := 0
	rate := func(a, b string, stars int, at time.Time) {
		n++
		rs = append(rs, reputation.Rating{InteractionID: fmt.Sprintf("tx%03d", n), Rater: a, Ratee: b, Stars: stars, CreatedAt: at})
	}
	mutual := func(at time.Time, stars int, members ...string) {
		for _, a := range members {
			for _, b := range members {
				if a != b {
					rate(a, b, stars, at)
				}
			}
		}
	}
	mutual(t0, 5, "agt_a", "agt_b", "agt_c", "agt_d") // a 4-clique: one ring, not four triangles
	mutual(t0, 5, "agt_x", "agt_y")                   // a pair
	mutual(t0, 4, "agt_p", "agt_q", "agt_r")          // not top ratings
	mutual(t0.AddDate(0, -2, 0), 5, "agt_o", "agt_l", "agt_d")
	rate("agt_e", "agt_a", 5, t0) // one-sided
	rate("agt_a", "agt_e", 1, t0)
	got, err := FindRings(context.Background(), rs, DefaultParams(), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.Equal(got[0].Members, []string{"agt_a", "agt_b", "agt_c", "agt_d"}) || len(got[0].Interactions) != 12 {
		t.Fatalf("rings %+v", got)
	}
	p := DefaultParams()
	p.RingMinStars = 4
	got, _ = FindRings(context.Background(), rs, p, t0.Add(time.Hour))
	if len(got) != 2 {
		t.Fatalf("rings with 4 stars top: %+v", got)
	}
}

func TestEngine_SnapshotRestoreContinues(t *testing.T) {
	f := newFeed(t, only(DefaultParams(), CircularFlow))
	f.pay(0, "agt_a", "agt_b", 50)
	f.pay(time.Minute, "agt_b", "agt_c", 49)
	snap, err := f.e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	g := NewEngine(f.e.Params)
	if err := g.Restore(snap, 0); err != nil || g.Seq() != 2 {
		t.Fatalf("restore: seq %d %v", g.Seq(), err)
	}
	f.e = g
	if fl := f.pay(2*time.Minute, "agt_c", "agt_a", 48); len(fl) != 1 {
		t.Fatalf("after a restore: %+v", fl)
	}
	// Events at or before the engine's seq are skipped.
	if fl, _ := g.Process(context.Background(), []Payment{{Seq: 3, Time: t0, From: "agt_c", To: "agt_a", Amount: avt.AVT(1)}}); len(fl) != 0 || g.Seq() != 3 {
		t.Fatalf("replayed event: %+v", fl)
	}
	if err := g.Restore([]byte("junk"), 0); err == nil {
		t.Fatal("junk restored")
	}
}

func TestParams_ValidateAndJSON(t *testing.T) {
	p := DefaultParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	var q Params
	if err := json.Unmarshal(b, &q); err != nil || q.VelocityWindow.D() != 5*time.Minute || q.LargeWindow.D() != 30*24*time.Hour {
		t.Fatalf("round trip %s: %+v %v", b, q, err)
	}
	for name, change := range map[string]func(*Params){
		"velocity_count":  func(p *Params) { p.VelocityCount = 0 },
		"circular_hops":   func(p *Params) { p.CircularMaxHops = 1 },
		"ratio":           func(p *Params) { p.CircularMinRatio = 0 },
		"sigma":           func(p *Params) { p.LargeSigma = 0.5 },
		"unknown rule":    func(p *Params) { p.Enabled["NOPE"] = true },
		"sybil_agents":    func(p *Params) { p.SybilAgents = 1 },
		"ring_min_stars":  func(p *Params) { p.RingMinStars = 6 },
		"velocity_window": func(p *Params) { p.VelocityWindow = 0 },
	} {
		p := DefaultParams()
		change(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`-1`), &d); err == nil {
		t.Fatal("negative duration accepted")
	}
	p.Enabled = map[Rule]bool{}
	if !p.On(RatingRing) {
		t.Fatal("a rule absent from the map is off")
	}
}

// FuzzParams: any JSON either fails to decode, fails validation, or is a parameter set whose
// rules run without panicking.
func FuzzParams(f *testing.F) {
	b, _ := json.Marshal(DefaultParams())
	f.Add(b)
	f.Add([]byte(`{"velocity_window": 1e300}`))
	f.Add([]byte(`{"enabled": {"HIGH_VELOCITY": false}, "circular_max_hops": 6}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := DefaultParams()
		if json.Unmarshal(data, &p) != nil || p.Validate() != nil {
			return
		}
		e := NewEngine(p)
		var ps []Payment
		for i := range 20 {
			ps = append(ps, Payment{Seq: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Second), From: fmt.Sprintf("agt_%d", i%3), To: fmt.Sprintf("agt_%d", (i+1)%3), Amount: avt.AVT(uint64(20 - i))})
		}
		if _, err := e.Process(context.Background(), ps); err != nil {
			t.Fatal(err)
		}
	})
}
