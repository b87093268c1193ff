package reputation_test

import (
	"context"
	"testing"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// counts is a fixed AttestationCounter.
type counts map[string]int

func (c counts) AttestationCounts(context.Context) (map[string]int, error) { return c, nil }
func (c counts) AttestationCount(_ context.Context, a string) (int, error) { return c[a], nil }

// TestAttestations_FeedTheScore: the provisional score and a full pass both count verified
// attestations (5 of the default cap of 20: 25 of 100 points), and a pass scores an attested
// agent no rating names.
func TestAttestations_FeedTheScore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.agents("agt_a", "agt_b", "agt_c")
		w.svc.Attestations = counts{"agt_c": 5, "agt_a": 40}
		sc := w.score("agt_c")
		if f := factor(sc, "attestations"); !sc.Provisional || f.Value != 5 || f.Points != 25 || sc.Score != 125 {
			t.Fatalf("provisional = %+v", sc)
		}
		w.rate("agt_a", "agt_b", 5)
		res, err := w.svc.RunPass(context.Background())
		if err != nil || res.Agents != 3 {
			t.Fatalf("pass = %+v, %v", res, err)
		}
		sc = w.score("agt_c")
		if f := factor(sc, "attestations"); sc.Provisional || f.Value != 5 || f.Points != 25 {
			t.Fatalf("after a pass = %+v", sc)
		}
		if f := factor(w.score("agt_a"), "attestations"); f.Value != 40 || f.Points != 100 {
			t.Fatalf("capped = %+v", f)
		}
		if f := factor(w.score("agt_b"), "attestations"); f.Value != 0 || f.Points != 0 {
			t.Fatalf("none = %+v", f)
		}
	})
}
