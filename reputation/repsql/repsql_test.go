package repsql_test

import (
	"context"
	"fmt"
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
		n := 0
		if err := s.EachRating(ctx, func(reputation.Rating) error { n++; return nil }); err != nil || n != 8 {
			t.Fatalf("streamed %d ratings (%v), want 8", n, err)
		}
		stop := fmt.Errorf("stop")
		if err := s.EachRating(ctx, func(reputation.Rating) error { return stop }); err != stop {
			t.Fatalf("an error of fn: %v", err)
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
