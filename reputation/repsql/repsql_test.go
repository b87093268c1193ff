package repsql_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func TestRatings_InsertOnceListAndStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := repsql.New(db)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
		for i := range 7 {
			r := reputation.Rating{InteractionID: fmt.Sprintf("tx_%02d", i), Rater: "agt_a", Ratee: "agt_b", Stars: 1 + i%5, Comment: "ok", CreatedAt: t0.Add(time.Duration(i/2) * time.Minute)}
			if err := s.InsertRating(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertRating(ctx, reputation.Rating{InteractionID: "tx_x", Rater: "agt_b", Ratee: "agt_c", Stars: 5, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		err := s.InsertRating(ctx, reputation.Rating{InteractionID: "tx_03", Rater: "agt_a", Ratee: "agt_b", Stars: 2, CreatedAt: t0})
		if apperr.CodeOf(err) != "ALREADY_RATED" {
			t.Fatalf("second rating of an interaction: %v", err)
		}
		// Newest first, pages of 3, ties by id descending, no repeats or gaps.
		var got []string
		var after *reputation.RatingCursor
		for {
			page, err := s.RatingsOf(ctx, "agt_b", after, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				got = append(got, r.InteractionID)
			}
			if len(page) < 3 {
				break
			}
			last := page[len(page)-1]
			after = &reputation.RatingCursor{CreatedAt: last.CreatedAt, InteractionID: last.InteractionID}
		}
		want := "[tx_06 tx_05 tx_04 tx_03 tx_02 tx_01 tx_00]"
		if fmt.Sprint(got) != want {
			t.Fatalf("pages = %v, want %v", got, want)
		}
		first, _ := s.RatingsOf(ctx, "agt_b", nil, 1)
		if first[0].Stars != 2 || first[0].Comment != "ok" || !first[0].CreatedAt.Equal(t0.Add(3*time.Minute)) || first[0].Rater != "agt_a" {
			t.Fatalf("rating read back as %+v", first[0])
		}
		if none, err := s.RatingsOf(ctx, "agt_nobody", nil, 10); err != nil || len(none) != 0 {
			t.Fatalf("ratings of an unrated agent: %v %v", none, err)
		}
		// The graph adds the ratings up per pair, in the insert's transaction: the refused
		// second rating of tx_03 is not counted.
		g, err := s.Graph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Agents) != 3 || len(g.Pairs) != 2 {
			t.Fatalf("graph = %+v", g)
		}
		pairs := map[string]reputation.Pair{}
		for _, p := range g.Pairs {
			pairs[g.Agents[p.Rater]+">"+g.Agents[p.Ratee]] = p
		}
		// agt_a rated agt_b 1,2,3,4,5,1,2 stars: satisfaction −2−1+0+1+2−2−1 = −3, 3 good, 4 bad.
		if p := pairs["agt_a>agt_b"]; p.Satisfaction != -3 || p.Good != 3 || p.Bad != 4 {
			t.Fatalf("agt_a>agt_b = %+v", p)
		}
		if p := pairs["agt_b>agt_c"]; p.Satisfaction != 2 || p.Good != 1 || p.Bad != 0 {
			t.Fatalf("agt_b>agt_c = %+v", p)
		}
	})
}

func TestScores_UpsertInBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := repsql.New(db)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var scores []reputation.StoredScore
		for i := range repsql.ScoreBatch + 7 {
			scores = append(scores, reputation.StoredScore{Agent: fmt.Sprintf("agt_%04d", i), Score: i % 1001, Tier: "New",
				Factors: []reputation.Factor{{Name: "base", Value: 1, Weight: 100, Points: 100}}, ComputedAt: at})
		}
		if err := s.PutScores(ctx, scores); err != nil {
			t.Fatal(err)
		}
		scores[3].Score, scores[3].Tier, scores[3].ComputedAt = 950, "Elite", at.Add(time.Hour)
		if err := s.PutScores(ctx, scores[3:4]); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Score(ctx, "agt_0003")
		if err != nil || !ok || got.Score != 950 || got.Tier != "Elite" || !got.ComputedAt.Equal(at.Add(time.Hour)) || len(got.Factors) != 1 || got.Factors[0].Points != 100 {
			t.Fatalf("score = %+v %v %v", got, ok, err)
		}
		if got, ok, _ := s.Score(ctx, fmt.Sprintf("agt_%04d", repsql.ScoreBatch+6)); !ok || got.Score != (repsql.ScoreBatch+6)%1001 {
			t.Fatalf("the last batch's score = %+v %v", got, ok)
		}
		if _, ok, err := s.Score(ctx, "agt_none"); ok || err != nil {
			t.Fatalf("an unscored agent: %v %v", ok, err)
		}
	})
}

// TestScoreValues_ReadsManyAtOnce: the scores of many agents in one call, more than one query's
// worth; unscored agents are absent.
func TestScoreValues_ReadsManyAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := repsql.New(db)
		ctx := context.Background()
		var scores []reputation.StoredScore
		var ids []string
		for i := range 1200 {
			id := fmt.Sprintf("agt_sv%04d", i)
			ids = append(ids, id)
			if i%2 == 0 {
				scores = append(scores, reputation.StoredScore{Agent: id, Score: i % 1000, Tier: "New", ComputedAt: time.Now()})
			}
		}
		if err := s.PutScores(ctx, scores); err != nil {
			t.Fatal(err)
		}
		got, err := s.ScoreValues(ctx, append(ids, "agt_none"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 600 || got["agt_sv0998"] != 998 || got["agt_sv1000"] != 0 {
			t.Fatalf("%d scores, agt_sv0998=%d", len(got), got["agt_sv0998"])
		}
		if _, ok := got["agt_sv0001"]; ok {
			t.Fatal("an unscored agent has a score")
		}
	})
}

// TestPassLease_OnePassPerInterval: of replicas claiming the scheduled pass at once, one wins;
// nobody claims it again until an interval after it finished; a claim left by a replica that
// died is taken over after the timeout.
func TestPassLease_OnePassPerInterval(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := repsql.New(db)
		ctx := context.Background()
		t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
		claim := func(holder string, at time.Time) bool {
			ok, err := s.ClaimPass(ctx, holder, at, 10*time.Minute, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if claim(fmt.Sprintf("r%d", i), t0) {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d replicas claimed the first pass", wins.Load())
		}
		if claim("late", t0.Add(time.Minute)) {
			t.Fatal("claimed while a pass runs")
		}
		// The holder finishes; the next claim comes an interval later.
		for i := range 8 {
			if err := s.FinishPass(ctx, fmt.Sprintf("r%d", i), t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if claim("early", t0.Add(11*time.Minute)) {
			t.Fatal("claimed before an interval after the last finish")
		}
		if !claim("next", t0.Add(12*time.Minute)) {
			t.Fatal("not claimed an interval after the last finish")
		}
		// "next" dies without finishing: its claim is taken over after the timeout only.
		if claim("other", t0.Add(30*time.Minute)) {
			t.Fatal("took over a running pass before its timeout")
		}
		if !claim("other", t0.Add(43*time.Minute)) {
			t.Fatal("did not take over a pass whose replica died")
		}
	})
}

// TestGraph_MigrationAddsUpEarlierRatings: ratings stored before the rating graph existed
// (schema version 21) are added up by the migration that creates it, and ratings after it are
// added by InsertRating, on SQLite and PostgreSQL.
func TestGraph_MigrationAddsUpEarlierRatings(t *testing.T) {
	for _, c := range []struct {
		name string
		dsn  string
	}{{"sqlite", "sqlite://" + filepath.Join(t.TempDir(), "old.db")}, {"postgres", os.Getenv(storetest.EnvPostgres)}} {
		t.Run(c.name, func(t *testing.T) {
			if c.dsn == "" {
				t.Skip(storetest.EnvPostgres + " not set: skipping the PostgreSQL half")
			}
			ctx := context.Background()
			schema := fmt.Sprintf("t_graph_%d", time.Now().UnixNano())
			var opts []store.Option
			if c.name == "postgres" {
				opts = append(opts, store.WithSchema(schema))
			}
			db, err := store.Open(ctx, c.dsn, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if c.name == "postgres" {
				defer func() { _ = db.DropSchema(ctx) }()
			}
			if err := db.MigrateTo(ctx, 21); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			for i, stars := range []int{5, 4, 1} {
				if _, err := db.Writer().ExecContext(ctx, `INSERT INTO reputation_ratings (interaction_id, rater, ratee, stars, created_at) VALUES ($1, $2, 'agt_b', $3, $4)`,
					fmt.Sprintf("tx_%d", i), []string{"agt_a", "agt_a", "agt_c"}[i], stars, store.Time(at)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			s := repsql.New(db)
			if err := s.InsertRating(ctx, reputation.Rating{InteractionID: "tx_3", Rater: "agt_d", Ratee: "agt_a", Stars: 2, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			g, err := s.Graph(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]reputation.Pair{}
			for _, p := range g.Pairs {
				k := g.Agents[p.Rater] + ">" + g.Agents[p.Ratee]
				p.Rater, p.Ratee = 0, 0
				got[k] = p
			}
			want := map[string]reputation.Pair{
				"agt_a>agt_b": {Satisfaction: 3, Good: 2},
				"agt_c>agt_b": {Satisfaction: -2, Bad: 1},
				"agt_d>agt_a": {Satisfaction: -1, Bad: 1},
			}
			if len(g.Agents) != 4 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("graph: agents %v, pairs %v, want %v", g.Agents, got, want)
			}
		})
	}
}

// TestLoadGraph_ReadsBack: a graph loaded in bulk reads back the same, more than one
// statement's and transaction's worth of it.
func TestLoadGraph_ReadsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := repsql.New(db)
		var in reputation.RatingGraph
		for i := range 57 {
			in.Agents = append(in.Agents, fmt.Sprintf("agt_%03d", i))
		}
		for i := range 1234 {
			in.Pairs = append(in.Pairs, reputation.Pair{Rater: uint32(i / 56), Ratee: uint32(i % 56), Satisfaction: int64(i%5 - 2), Good: int64(i % 3), Bad: int64(i % 2)})
		}
		if err := s.LoadGraph(ctx, in); err != nil {
			t.Fatal(err)
		}
		out, err := s.Graph(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out.Pairs, func(a, b reputation.Pair) int {
			return int(a.Rater)*1000 + int(a.Ratee) - int(b.Rater)*1000 - int(b.Ratee)
		})
		if !slices.Equal(out.Agents, in.Agents) || !slices.Equal(out.Pairs, in.Pairs) {
			t.Fatalf("read back %d agents, %d pairs; differ from what was loaded", len(out.Agents), len(out.Pairs))
		}
	})
}

// TestScores_AFullPassWorth: a full pass's worth of scores (past the size from which
// PostgreSQL streams them with COPY) is stored, replaces earlier scores, and reads back with
// its factors and inputs, on both stores.
func TestScores_AFullPassWorth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := repsql.New(db)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		mk := func(n, score int) []reputation.StoredScore {
			out := make([]reputation.StoredScore, n)
			for i := range out {
				out[i] = reputation.StoredScore{Agent: fmt.Sprintf("agt_%05d", i), Score: (i + score) % 1001, Tier: "New", ComputedAt: at,
					Factors: []reputation.Factor{{Name: "base", Value: 1, Weight: 100, Points: 100}}, Inputs: &reputation.Inputs{Completed: float64(i)}}
			}
			return out
		}
		if err := s.PutScores(ctx, mk(6001, 0)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutScores(ctx, mk(6001, 7)); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Score(ctx, "agt_06000")
		if err != nil || !ok || got.Score != (6000+7)%1001 || got.Inputs == nil || got.Inputs.Completed != 6000 || len(got.Factors) != 1 || !got.ComputedAt.Equal(at) {
			t.Fatalf("score = %+v %v %v", got, ok, err)
		}
	})
}
