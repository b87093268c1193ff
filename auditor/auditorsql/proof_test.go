package auditorsql_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/auditor/auditorsql"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// clock is a settable time for the ledger's events.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// directory is a registry of agents: developer and registration time.
type directory map[string]auditor.AgentInfo

func (d directory) Agents(_ context.Context, ids []string) (map[string]auditor.AgentInfo, error) {
	out := map[string]auditor.AgentInfo{}
	for _, id := range ids {
		if a, ok := d[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

// flatLimits: every agent's tier allows 100 AVT a transfer; the lowest tier 10.
type flatLimits struct{}

func (flatLimits) Floor(context.Context) (avt.Amount, error) { return avt.AVT(10), nil }
func (flatLimits) PerTransfer(context.Context, string) (avt.Amount, error) {
	return avt.AVT(100), nil
}

// history is a generated ledger history: honest customers paying providers, with a wash ring,
// a sybil funnel and a rating ring hidden in it.
type history struct {
	ledger *tegsql.Ledger
	clock  *clock
	dir    directory
	t0     time.Time
	// the seqs each pattern must be flagged with
	wash, funnel, rated []uint64
	washAgents          []string
	funnelPayee         string
	ringAgents          []string
	honest              int
}

func (h *history) pay(t *testing.T, at time.Time, cmds ...teg.Command) []uint64 {
	t.Helper()
	h.clock.set(at)
	res, err := h.ledger.Submit(context.Background(), cmds, false)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([]uint64, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", cmds[i].ID, r.Err)
		}
		seqs[i] = r.Transfer.Seq
	}
	return seqs
}

func transfer(id, from, to string, amount uint64) teg.Command {
	return teg.Command{Kind: teg.KindTransfer, ID: id, From: teg.AccountID(from), To: teg.AccountID(to), Amount: avt.AVT(amount)}
}

func generate(t *testing.T, db *store.DB, rs *repsql.Store) *history {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	l := tegsql.Open(db, teg.DefaultParams(), clk.now)
	t.Cleanup(l.Close)
	h := &history{ledger: l, clock: clk, dir: directory{}, t0: t0}
	old := t0.AddDate(-1, 0, 0)
	var agents []string
	add := func(id, dev string, created time.Time) string {
		agents = append(agents, id)
		h.dir[id] = auditor.AgentInfo{Developer: dev, CreatedAt: created}
		return id
	}
	var customers, providers []string
	for i := range 200 {
		customers = append(customers, add(fmt.Sprintf("agt_cust%03d", i), fmt.Sprintf("dev_c%03d", i), old))
	}
	for i := range 50 {
		// some honest providers are new, each of its own developer
		created := old
		if i%10 == 0 {
			created = t0.Add(-time.Hour)
		}
		providers = append(providers, add(fmt.Sprintf("agt_prov%02d", i), fmt.Sprintf("dev_p%02d", i), created))
	}
	h.washAgents = []string{add("agt_wash1", "dev_w1", old), add("agt_wash2", "dev_w2", old), add("agt_wash3", "dev_w3", old)}
	h.funnelPayee = add("agt_funnel", "dev_f", old)
	var sybils []string
	for i := range 6 {
		sybils = append(sybils, add(fmt.Sprintf("agt_sybil%d", i), "dev_sybil", t0.Add(-2*time.Hour)))
	}
	h.ringAgents = []string{add("agt_ring1", "dev_r1", old), add("agt_ring2", "dev_r2", old), add("agt_ring3", "dev_r3", old)}
	if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindMint, ID: "mint", Amount: avt.AVT(uint64(len(agents)) * 1_000_000)}); err != nil {
		t.Fatal(err)
	}
	var setup []teg.Command
	for _, a := range agents {
		setup = append(setup, teg.Command{Kind: teg.KindOpen, ID: "open-" + a, To: teg.AccountID(a)},
			teg.Command{Kind: teg.KindGrant, ID: "grant-" + a, To: teg.AccountID(a), Amount: avt.AVT(1_000_000)})
	}
	if _, err := l.Submit(ctx, setup, true); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	const perBatch = 20
	batches := 10_000 / perBatch
	ringStep := 0
	for b := range batches {
		at := t0.Add(time.Duration(b) * time.Minute)
		cmds := make([]teg.Command, perBatch)
		for i := range cmds {
			c, p := customers[rng.IntN(len(customers))], providers[rng.IntN(len(providers))]
			cmds[i] = transfer(fmt.Sprintf("honest-%d-%d", b, i), c, p, 1+rng.Uint64N(20))
		}
		seqs := h.pay(t, at, cmds...)
		h.honest += len(seqs)
		// Customers rate some providers 5 stars (never the other way round).
		if b%7 == 0 {
			if err := rs.InsertRating(ctx, reputation.Rating{InteractionID: cmds[0].ID, Rater: string(cmds[0].From), Ratee: string(cmds[0].To), Stars: 5, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case b == 100 || b == 130:
			// The wash ring, twice: 50 AVT goes round w1 → w2 → w3 → w1 within four minutes
			// (less the fees on the way); the second round is the same pattern.
			w := h.washAgents
			s := h.pay(t, at.Add(10*time.Second), transfer(fmt.Sprintf("wash-%d-1", b), w[0], w[1], 50))
			s = append(s, h.pay(t, at.Add(2*time.Minute+10*time.Second), transfer(fmt.Sprintf("wash-%d-2", b), w[1], w[2], 49))...)
			s = append(s, h.pay(t, at.Add(4*time.Minute+10*time.Second), transfer(fmt.Sprintf("wash-%d-3", b), w[2], w[0], 48))...)
			if b == 100 {
				h.wash = s
			}
		case b >= 200 && b < 212 && b%2 == 0:
			// The funnel: six new agents of one developer pay one agent within 12 minutes.
			s := h.pay(t, at.Add(20*time.Second), transfer(fmt.Sprintf("sybil-%d", b), sybils[(b-200)/2], h.funnelPayee, 2))
			if len(h.funnel) < 5 {
				h.funnel = append(h.funnel, s...)
			}
		case b >= 300 && b < 306:
			// The rating ring pays each other (ever larger amounts, so that no value goes
			// round), then all rate each other 5 stars.
			pairs := [][2]int{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {0, 2}, {2, 0}}
			pr := pairs[ringStep]
			ringStep++
			id := fmt.Sprintf("ring-%d", b)
			s := h.pay(t, at.Add(30*time.Second), transfer(id, h.ringAgents[pr[0]], h.ringAgents[pr[1]], uint64(ringStep)))
			h.rated = append(h.rated, s...)
			if err := rs.InsertRating(ctx, reputation.Rating{InteractionID: id, Rater: h.ringAgents[pr[0]], Ratee: h.ringAgents[pr[1]], Stars: 5, CreatedAt: at.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A mutual pair of honest 5-star ratings is not a ring (3 agents at least).
	for i, pr := range [][2]string{{"agt_cust000", "agt_cust001"}, {"agt_cust001", "agt_cust000"}} {
		id := fmt.Sprintf("pair-%d", i)
		h.pay(t, t0.Add(time.Duration(batches)*time.Minute+time.Duration(i)*time.Hour), transfer(id, pr[0], pr[1], uint64(5+i*5)))
		if err := rs.InsertRating(ctx, reputation.Rating{InteractionID: id, Rater: pr[0], Ratee: pr[1], Stars: 5, CreatedAt: t0.Add(time.Duration(batches) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func consumer(db *store.DB, h *history, rs *repsql.Store, holder string, now time.Time) *auditor.Consumer {
	return &auditor.Consumer{
		Service: &auditor.Service{Store: auditorsql.New(db)}, Log: h.ledger, Directory: h.dir, Limits: flatLimits{},
		Ratings: rs, Transfers: h.ledger, Holder: holder, Batch: 700, StepBudget: time.Minute, Now: func() time.Time { return now },
	}
}

// TestProof_EachPatternFlaggedOnceAmongHonestTransfers generates 10,000 honest transfers
// (customers paying providers, some new, some rated) with a 3-hop wash ring (run twice), a
// sybil funnel (six new agents of one developer) and a rating ring hidden in them: the auditor
// flags each pattern once with its events as evidence, and nothing honest. A second replica
// taking the lease over re-audits from the checkpoint and stores nothing twice.
func TestProof_EachPatternFlaggedOnceAmongHonestTransfers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { proof(t, db) })
}

func proof(t *testing.T, db *store.DB) {
	ctx := context.Background()
	rs := repsql.New(db)
	h := generate(t, db, rs)
	end := h.clock.now().Add(time.Hour)
	c := consumer(db, h, rs, "replica-a", end)
	res, err := c.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := h.ledger.Head(ctx)
	if !res.Held || res.Cursor != head.Seq {
		t.Fatalf("step: %+v, head %d", res, head.Seq)
	}
	st := auditorsql.New(db)
	flags, err := st.Flags(ctx, auditor.FlagQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	check := func(flags []auditor.Flag) {
		t.Helper()
		got := map[auditor.Rule]auditor.Flag{}
		for _, f := range flags {
			if _, dup := got[f.Rule]; dup {
				t.Errorf("two %s flags: %+v", f.Rule, f)
			}
			got[f.Rule] = f
		}
		if len(flags) != 3 {
			for _, f := range flags {
				t.Logf("flag %s %s %v %v %s", f.Rule, f.Subject, f.Agents, f.Evidence, f.Detail)
			}
			t.Fatalf("%d flags, want 3 (one per pattern)", len(flags))
		}
		want := []struct {
			rule     auditor.Rule
			subject  string
			agents   []string
			evidence []uint64
		}{
			{auditor.CircularFlow, h.washAgents[0], h.washAgents, h.wash},
			{auditor.SybilFunnel, h.funnelPayee, []string{h.funnelPayee, "agt_sybil0", "agt_sybil1", "agt_sybil2", "agt_sybil3", "agt_sybil4"}, h.funnel},
			{auditor.RatingRing, h.ringAgents[0], h.ringAgents, h.rated},
		}
		for _, w := range want {
			f, ok := got[w.rule]
			if !ok {
				t.Errorf("no %s flag", w.rule)
				continue
			}
			if f.Subject != w.subject || !slices.Equal(f.Agents, w.agents) || !slices.Equal(f.Evidence, w.evidence) || f.Status != auditor.StatusNew {
				t.Errorf("%s flag: subject %s agents %v evidence %v status %s; want %s %v %v", w.rule, f.Subject, f.Agents, f.Evidence, f.Status,
					w.subject, w.agents, w.evidence)
			}
		}
	}
	check(flags)
	if h.honest != 10_000 {
		t.Fatalf("%d honest transfers", h.honest)
	}

	// Another replica cannot take a lease held; once it has expired, it re-audits everything
	// after the checkpoint and stores no flag twice.
	b := consumer(db, h, rs, "replica-b", end)
	if res, err := b.Step(ctx); err != nil || res.Held {
		t.Fatalf("second replica while the lease is held: %+v %v", res, err)
	}
	b = consumer(db, h, rs, "replica-b", end.Add(time.Minute))
	if res, err := b.Step(ctx); err != nil || !res.Held || res.Flags != 0 || res.Cursor != head.Seq {
		t.Fatalf("second replica after the lease expired: %+v %v", res, err)
	}
	flags, _ = st.Flags(ctx, auditor.FlagQuery{Limit: 100})
	check(flags)
	// The first replica lost the lease: its next commit is refused and it stops.
	if res, err := c.Step(ctx); err != nil || res.Held {
		t.Fatalf("first replica after losing the lease: %+v %v", res, err)
	}
}
