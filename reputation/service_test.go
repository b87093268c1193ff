package reputation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// world is a ledger and the reputation service over it, on a real store.
type world struct {
	t      *testing.T
	ledger *tegsql.Ledger
	svc    *reputation.Service
	n      int
}

func newWorld(t *testing.T, db *store.DB, pretrusted ...string) *world {
	ledger := tegsql.Open(db, teg.DefaultParams(), nil)
	t.Cleanup(ledger.Close)
	tokens := &teg.Service{Store: ledger, Authz: policy.New()}
	w := &world{t: t, ledger: ledger, svc: &reputation.Service{Store: repsql.New(db), Ledger: ledger, Staking: reputation.LedgerStaking{Service: tokens},
		Authz: policy.New(), Pretrusted: func(context.Context) ([]string, error) { return pretrusted, nil }}}
	w.submit(teg.Command{Kind: teg.KindMint, Amount: avt.AVT(1_000_000)})
	return w
}

func (w *world) submit(c teg.Command) teg.Transfer {
	w.t.Helper()
	w.n++
	c.ID = fmt.Sprintf("c%d", w.n)
	res, err := w.ledger.Submit(context.Background(), []teg.Command{c}, false)
	if err != nil || res[0].Err != nil {
		w.t.Fatalf("%s: %v %v", c.Kind, err, res[0].Err)
	}
	return res[0].Transfer
}

func (w *world) agents(ids ...string) {
	for _, id := range ids {
		w.submit(teg.Command{Kind: teg.KindOpen, To: teg.AccountID(id)})
		w.submit(teg.Command{Kind: teg.KindGrant, To: teg.AccountID(id), Amount: avt.AVT(5000)})
	}
}

// rate has from pay to and rate it.
func (w *world) rate(from, to string, stars int) {
	w.t.Helper()
	tr := w.submit(teg.Command{Kind: teg.KindTransfer, From: teg.AccountID(from), To: teg.AccountID(to), Amount: avt.AVT(1)})
	if _, err := w.svc.Rate(context.Background(), policy.Subject{Kind: policy.KindAgent, ID: from, AuthMethod: policy.AuthJWTSVID},
		reputation.RateRequest{Ratee: to, InteractionID: tr.ID, Stars: stars}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) score(agent string) reputation.StoredScore {
	w.t.Helper()
	sc, _, err := w.svc.Current(context.Background(), agent)
	if err != nil {
		w.t.Fatal(err)
	}
	return sc
}

func factor(sc reputation.StoredScore, name string) reputation.Factor {
	for _, f := range sc.Factors {
		if f.Name == name {
			return f
		}
	}
	return reputation.Factor{}
}

// TestRunPass_PretrustAnchorsTrustRingsGetLittle: a validator and a verified developer's first
// agent anchor the trust; honest agents they rate (and those rate) score above a ring that
// rates itself 5/5 many times; stake counts; a second pass stores the same scores.
func TestRunPass_PretrustAnchorsTrustRingsGetLittle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, "agt_p")
		w.agents("agt_v", "agt_p", "agt_h1", "agt_h2", "agt_h3", "agt_r1", "agt_r2", "agt_r3")
		w.submit(teg.Command{Kind: teg.KindValidatorCreate, From: "agt_v", Amount: avt.AVT(1000)})
		w.submit(teg.Command{Kind: teg.KindStake, From: "agt_h2", Amount: avt.AVT(25), Staking: &teg.StakingArgs{Validator: "agt_v"}})
		w.rate("agt_v", "agt_h1", 5)
		w.rate("agt_p", "agt_h2", 5)
		w.rate("agt_h1", "agt_h2", 4)
		w.rate("agt_h2", "agt_h3", 5)
		w.rate("agt_h3", "agt_h1", 4)
		w.rate("agt_h1", "agt_r1", 2) // the ring's one outside customer was unhappy
		for range 5 {
			w.rate("agt_r1", "agt_r2", 5)
			w.rate("agt_r2", "agt_r3", 5)
			w.rate("agt_r3", "agt_r1", 5)
		}
		// Before a pass the ratings count already (Update), but weighted by their raters'
		// trust, which no pass has computed yet: nothing beyond a fresh agent's score.
		if sc := w.score("agt_h1"); sc.Provisional || sc.Score != 100 || sc.Tier != teg.TierNew {
			t.Fatalf("before a pass: %+v", sc)
		}
		if sc := w.score("agt_nobody"); !sc.Provisional || sc.Score != 100 {
			t.Fatalf("an agent never rated: %+v", sc)
		}
		res, err := w.svc.RunPass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Agents != 8 || res.Ratings != 21 || res.Pretrusted != 2 || res.Iterations < 1 {
			t.Fatalf("pass = %+v", res)
		}
		honest := []string{"agt_h1", "agt_h2", "agt_h3"}
		for _, h := range honest {
			for _, r := range []string{"agt_r1", "agt_r2", "agt_r3"} {
				if hs, rs := w.score(h), w.score(r); hs.Score <= rs.Score {
					t.Errorf("%s scores %d, ring member %s %d", h, hs.Score, r, rs.Score)
				}
			}
		}
		v := w.score("agt_v")
		if f := factor(v, "stake"); f.Value != 1000 || f.Points <= 0 {
			t.Fatalf("the validator's stake factor: %+v", f)
		}
		// The pass reads every stake at once; it agrees with one agent's stake read alone.
		for _, a := range []string{"agt_v", "agt_h2", "agt_h1"} {
			one, err := w.svc.Staking.StakeOf(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if f := factor(w.score(a), "stake"); one.String() != fmt.Sprint(f.Value) {
				t.Errorf("%s: stake factor %v, staked %s", a, f.Value, one)
			}
		}
		if f := factor(w.score("agt_h2"), "stake"); f.Value != 25 {
			t.Fatalf("a delegator's stake factor: %+v", f)
		}
		if v.Provisional || v.Tier != reputation.TierOf(&teg.Params{}, v.Score).Name {
			t.Fatalf("validator = %+v", v)
		}
		before := map[string]int{}
		for _, a := range append(honest, "agt_r1", "agt_v") {
			before[a] = w.score(a).Score
		}
		if _, err := w.svc.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		for a, s := range before {
			if got := w.score(a).Score; got != s {
				t.Fatalf("%s: %d then %d", a, s, got)
			}
		}
		tier, score, err := w.svc.Standing(ctx, "agt_h1")
		if err != nil || score != before["agt_h1"] || tier != reputation.TierOf(&teg.Params{}, score).Name {
			t.Fatalf("standing = %s %d %v", tier, score, err)
		}
	})
}

func TestRate_RefusalsStoreNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		w.agents("agt_a", "agt_b")
		now := time.Now()
		w.svc.Now = func() time.Time { return now }
		tr := w.submit(teg.Command{Kind: teg.KindTransfer, From: "agt_a", To: "agt_b", Amount: avt.AVT(1)})
		a := policy.Subject{Kind: policy.KindAgent, ID: "agt_a", AuthMethod: policy.AuthJWTSVID}
		for _, c := range []struct {
			req  reputation.RateRequest
			code string
		}{
			{reputation.RateRequest{Ratee: "agt_b", InteractionID: tr.ID, Stars: 0}, "INVALID_STARS"},
			{reputation.RateRequest{Ratee: "agt_b", InteractionID: tr.ID, Stars: 3, Comment: string([]byte{0xff})}, "COMMENT_TOO_LONG"},
			{reputation.RateRequest{Ratee: "agt_b", InteractionID: "a b", Stars: 3}, "INVALID_INTERACTION_ID"},
			{reputation.RateRequest{Ratee: "nobody here", InteractionID: tr.ID, Stars: 3}, "INVALID_AGENT"},
		} {
			if _, err := w.svc.Rate(ctx, a, c.req); apperr.CodeOf(err) != c.code {
				t.Errorf("%+v: %v, want %s", c.req, err, c.code)
			}
		}
		now = now.Add(reputation.RatingWindow + time.Second)
		if _, err := w.svc.Rate(ctx, a, reputation.RateRequest{Ratee: "agt_b", InteractionID: tr.ID, Stars: 3}); apperr.CodeOf(err) != "RATING_WINDOW_CLOSED" {
			t.Fatalf("after the window: %v", err)
		}
		if g, err := w.svc.Store.Graph(ctx); err != nil || len(g.Pairs) != 0 || len(g.Agents) != 0 {
			t.Fatalf("after refusals the rating graph holds %+v (%v)", g, err)
		}
		if rs, err := w.svc.Store.RatingsOf(ctx, "agt_b", nil, 10); err != nil || len(rs) != 0 {
			t.Fatalf("%d ratings stored (%v)", len(rs), err)
		}
	})
}

// TestScoreOf_RemembersUntilAPass: ScoreOf reads the stored score once per TTL, answers "no
// score" for an agent no pass scored, and forgets everything when this replica runs a pass.
func TestScoreOf_RemembersUntilAPass(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.svc.ScoreTTL = time.Hour
		ctx := context.Background()
		if _, ok := w.svc.ScoreOf(ctx, "agt_x"); ok {
			t.Fatal("an agent never scored has a score")
		}
		if err := w.svc.Store.PutScores(ctx, []reputation.StoredScore{{Agent: "agt_x", Score: 950, ComputedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.svc.ScoreOf(ctx, "agt_x"); ok {
			t.Fatal("the remembered answer was not used within the TTL")
		}
		if _, err := w.svc.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		// The pass scored only the agents it knows (none rated agt_x), and forgot the cache.
		if err := w.svc.Store.PutScores(ctx, []reputation.StoredScore{{Agent: "agt_x", Score: 950, ComputedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		if s, ok := w.svc.ScoreOf(ctx, "agt_x"); !ok || s != 950 {
			t.Fatalf("after a pass: %d %v, want 950", s, ok)
		}
	})
}

// TestUpdate_EventsCountAtOnce: after a pass, a rating by a trusted payer raises the ratee's
// paid-tasks factor at once, without a pass; concurrent updates of one agent are none of them
// lost; a later pass recomputes from the sources.
func TestUpdate_EventsCountAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, "agt_p")
		w.agents("agt_p", "agt_a", "agt_b")
		w.rate("agt_p", "agt_a", 5)
		w.rate("agt_a", "agt_p", 5)
		if _, err := w.svc.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		before := factor(w.score("agt_b"), "paid_tasks")
		w.rate("agt_p", "agt_b", 5)
		after := w.score("agt_b")
		if f := factor(after, "paid_tasks"); f.Points <= before.Points || after.Provisional {
			t.Fatalf("paid_tasks before %+v, after a rating %+v", before, f)
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := w.svc.Update(ctx, "agt_b", func(in *reputation.Inputs) { in.Attestations++ }); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if f := factor(w.score("agt_b"), "attestations"); f.Value != 16 {
			t.Fatalf("16 concurrent updates counted %v", f.Value)
		}
		if _, err := w.svc.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		// The pass recomputes from the sources (no attestation source here).
		if f := factor(w.score("agt_b"), "attestations"); f.Value != 0 {
			t.Fatalf("after a pass: attestations %v", f.Value)
		}
		if f := factor(w.score("agt_b"), "paid_tasks"); f.Points <= before.Points {
			t.Fatalf("after a pass: paid_tasks %+v", f)
		}
	})
}

// TestRunPass_DisputesLostLowerTheScore: the pass reads the disputes each agent lost (the
// ledger's record, through DisputesLost) and takes each off its score, decaying; an agent with
// no ratings that lost one is scored too.
func TestRunPass_DisputesLostLowerTheScore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, "agt_p")
		w.agents("agt_p", "agt_a", "agt_b")
		w.rate("agt_p", "agt_a", 5)
		w.rate("agt_p", "agt_b", 5)
		now := time.Now().UTC()
		w.svc.DisputesLost = func(context.Context) (map[string][]time.Time, error) {
			return map[string][]time.Time{"agt_b": {now}, "agt_lonely": {now, now}}, nil
		}
		if _, err := w.svc.RunPass(ctx); err != nil {
			t.Fatal(err)
		}
		a, b := w.score("agt_a"), w.score("agt_b")
		if f := factor(b, "disputes_lost"); f.Value != 1 || f.Points >= 0 {
			t.Fatalf("agt_b's disputes_lost factor: %+v", f)
		}
		if f := factor(a, "disputes_lost"); f.Value != 0 || b.Score >= a.Score {
			t.Fatalf("agt_a %d (%+v), agt_b %d: the loss did not count", a.Score, f, b.Score)
		}
		if l := w.score("agt_lonely"); l.Provisional || factor(l, "disputes_lost").Value != 2 {
			t.Fatalf("an agent without ratings that lost disputes: %+v", l)
		}
		w.svc.DisputesLost = func(context.Context) (map[string][]time.Time, error) { return nil, apperr.Internalf("boom") }
		if _, err := w.svc.RunPass(ctx); err == nil {
			t.Fatal("a failing DisputesLost did not fail the pass")
		}
	})
}

// confirmedFlags is an auditor's answer: when each agent's flags were confirmed.
type confirmedFlags map[string][]time.Time

func (c confirmedFlags) ConfirmedFlags(context.Context) (map[string][]time.Time, error) {
	return c, nil
}

// TestRunPass_ConfirmedFlagsTakePoints: a pass counts each confirmed auditor flag against the
// agents it implicates (Inputs.Flags), and scores a flagged agent nobody rated.
func TestRunPass_ConfirmedFlagsTakePoints(t *testing.T) {
	db := storetest.SQLite(t)
	w := newWorld(t, db, "agt_anchor")
	w.agents("agt_anchor", "agt_a", "agt_b")
	w.rate("agt_anchor", "agt_a", 5)
	w.rate("agt_anchor", "agt_b", 5)
	ctx := context.Background()
	if _, err := w.svc.RunPass(ctx); err != nil {
		t.Fatal(err)
	}
	before := w.score("agt_a")
	now := time.Now()
	w.svc.Flags = confirmedFlags{"agt_a": {now}, "agt_lonely": {now, now}}
	if _, err := w.svc.RunPass(ctx); err != nil {
		t.Fatal(err)
	}
	after := w.score("agt_a")
	if f := factor(after, "auditor_flags"); f.Value != 1 || f.Points >= -199 || after.Score >= before.Score {
		t.Fatalf("flagged agent: %d → %d, factor %+v", before.Score, after.Score, f)
	}
	if f := factor(w.score("agt_b"), "auditor_flags"); f.Value != 0 {
		t.Fatalf("unflagged agent has flags: %+v", f)
	}
	lonely := w.score("agt_lonely")
	if lonely.Provisional || factor(lonely, "auditor_flags").Value != 2 {
		t.Fatalf("flagged agent nobody rated: %+v", lonely)
	}
}
