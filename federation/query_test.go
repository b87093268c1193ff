package federation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/federation"
)

// fakeCaller answers per trust domain: hits, an error, or a hang until the deadline.
type fakeCaller struct {
	mu    sync.Mutex
	hits  map[string][]federation.Hit
	fail  map[string]bool
	hang  map[string]bool
	calls map[string]int
	seen  map[string]federation.Query
}

func (c *fakeCaller) Query(ctx context.Context, p federation.Peer, q federation.Query) ([]federation.Hit, []federation.PeerOutcome, error) {
	c.mu.Lock()
	c.calls[p.TrustDomain]++
	c.seen[p.TrustDomain] = q
	hang, fail, hits := c.hang[p.TrustDomain], c.fail[p.TrustDomain], c.hits[p.TrustDomain]
	c.mu.Unlock()
	switch {
	case hang:
		<-ctx.Done()
		return nil, nil, ctx.Err()
	case fail:
		return nil, nil, errors.New("connection refused")
	}
	return hits, nil, nil
}

func hit(origin, id string, score int) federation.Hit {
	return federation.Hit{Origin: origin, ID: id, Score: score, Doc: []byte(`{}`)}
}

func newFanout(peers ...string) (*federation.Fanout, *fakeCaller) {
	c := &fakeCaller{hits: map[string][]federation.Hit{}, fail: map[string]bool{}, hang: map[string]bool{}, calls: map[string]int{}, seen: map[string]federation.Query{}}
	var ps []federation.Peer
	for _, td := range peers {
		ps = append(ps, federation.Peer{ID: "fpr_" + td, TrustDomain: td, State: federation.StateActive})
	}
	return &federation.Fanout{Self: "a.test", Peers: func() []federation.Peer { return ps }, Caller: c, Deadline: 50 * time.Millisecond}, c
}

func status(res federation.Result, td string) federation.PeerOutcome {
	for _, o := range res.Peers {
		if o.TrustDomain == td && o.Via == "" {
			return o
		}
	}
	return federation.PeerOutcome{}
}

func TestFanout_MergesTagsAndReportsEachPeer(t *testing.T) {
	f, c := newFanout("b.test", "c.test", "d.test", "e.test")
	c.hits["b.test"] = []federation.Hit{hit("b.test", "agt_1", 80), hit("c.test", "agt_9", 70), hit("a.test", "agt_forged", 100)}
	c.hits["c.test"] = []federation.Hit{hit("c.test", "agt_9", 75)}
	c.fail["d.test"] = true
	c.hang["e.test"] = true
	res := f.Query(context.Background(), federation.Query{Text: "x", Limit: 10, Hops: 2, Origins: []string{}}, []federation.Hit{hit("a.test", "agt_1", 80)})
	var got []string
	for _, h := range res.Hits {
		got = append(got, fmt.Sprintf("%s/%s/%d", h.Origin, h.ID, h.Score))
	}
	// One ranking; the same id at two origins is two cards; c.test's card once (best score);
	// a peer's hit claiming to come from here is dropped; ties put this registry first.
	want := []string{"a.test/agt_1/80", "b.test/agt_1/80", "c.test/agt_9/75"}
	if !slices.Equal(got, want) {
		t.Fatalf("hits %v, want %v", got, want)
	}
	for td, st := range map[string]string{"b.test": federation.PeerAnswered, "c.test": federation.PeerAnswered, "d.test": federation.PeerError, "e.test": federation.PeerTimedOut} {
		if o := status(res, td); o.Status != st {
			t.Errorf("%s: %+v, want %s", td, o, st)
		}
	}
	q := c.seen["b.test"]
	if q.Hops != 1 || !slices.Equal(q.Origins, []string{"a.test"}) || q.Budget != 50*time.Millisecond {
		t.Fatalf("forwarded query %+v: want hops 1, origins [a.test], budget 50ms", q)
	}
	if h := f.Health("d.test"); h.ConsecutiveErrors != 1 || h.LastError == "" || h.Breaker != "closed" {
		t.Fatalf("health of a failing peer: %+v", h)
	}
	if h := f.Health("b.test"); h.LastSuccessAt == nil || h.ConsecutiveErrors != 0 {
		t.Fatalf("health of a good peer: %+v", h)
	}
}

func TestFanout_BreakerOpensThenSkipsTheDeadPeer(t *testing.T) {
	f, c := newFanout("b.test", "c.test")
	c.hang["c.test"] = true
	f.BreakerOpenFor = time.Hour
	q := federation.Query{Hops: 1}
	for i := 0; i < federation.BreakerFailures; i++ {
		if o := status(f.Query(context.Background(), q, nil), "c.test"); o.Status != federation.PeerTimedOut {
			t.Fatalf("query %d: %+v", i, o)
		}
	}
	res := f.Query(context.Background(), q, nil)
	if o := status(res, "c.test"); o.Status != federation.PeerSkipped || o.Reason != "circuit_open" {
		t.Fatalf("after %d timeouts: %+v, want skipped circuit_open", federation.BreakerFailures, o)
	}
	if o := status(res, "b.test"); o.Status != federation.PeerAnswered {
		t.Fatalf("healthy peer: %+v", o)
	}
	if c.calls["c.test"] != federation.BreakerFailures {
		t.Fatalf("the open breaker still called the peer: %d calls", c.calls["c.test"])
	}
	if h := f.Health("c.test"); h.Breaker != "open" {
		t.Fatalf("health breaker %q, want open", h.Breaker)
	}
}

func TestFanout_NoHopsNoOriginsAskedAgain(t *testing.T) {
	f, c := newFanout("b.test", "c.test")
	res := f.Query(context.Background(), federation.Query{Hops: 0}, []federation.Hit{hit("a.test", "x", 1)})
	if len(res.Peers) != 0 || len(c.calls) != 0 || len(res.Hits) != 1 {
		t.Fatalf("hops 0 asked peers: %+v %v", res, c.calls)
	}
	res = f.Query(context.Background(), federation.Query{Hops: 1, Origins: []string{"c.test"}}, nil)
	if o := status(res, "c.test"); o.Status != federation.PeerSkipped || o.Reason != "in_origins" || c.calls["c.test"] != 0 {
		t.Fatalf("origin asked again: %+v, %d calls", o, c.calls["c.test"])
	}
	if q := c.seen["b.test"]; !slices.Equal(q.Origins, []string{"c.test", "a.test"}) {
		t.Fatalf("origins forwarded %v", q.Origins)
	}
}

// TestMerge_Invariants: Merge returns each (origin, id) once with its best score, sorted by
// score, within the limit, and only hits it was given.
func TestMerge_Invariants(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		origins := []string{"a.test", "b.test", "c.test"}
		hits := rapid.SliceOf(rapid.Custom(func(rt *rapid.T) federation.Hit {
			return hit(rapid.SampledFrom(origins).Draw(rt, "o"), rapid.SampledFrom([]string{"x", "y", "z"}).Draw(rt, "id"), rapid.IntRange(0, 100).Draw(rt, "s"))
		})).Draw(rt, "hits")
		limit := rapid.IntRange(0, 12).Draw(rt, "limit")
		out := federation.Merge("a.test", limit, hits)
		best := map[[2]string]int{}
		for _, h := range hits {
			k := [2]string{h.Origin, h.ID}
			if s, ok := best[k]; !ok || h.Score > s {
				best[k] = h.Score
			}
		}
		if want := len(best); (limit > 0 && len(out) != min(want, limit)) || (limit <= 0 && len(out) != want) {
			rt.Fatalf("%d results for %d distinct, limit %d", len(out), want, limit)
		}
		seen := map[[2]string]bool{}
		for i, h := range out {
			k := [2]string{h.Origin, h.ID}
			if seen[k] || best[k] != h.Score {
				rt.Fatalf("result %d %v: duplicate or not the best score", i, h)
			}
			seen[k] = true
			if i > 0 && out[i-1].Score < h.Score {
				rt.Fatalf("not ranked: %v before %v", out[i-1], h)
			}
		}
	})
}

func TestTransition_OnlyLegalMoves(t *testing.T) {
	states := []federation.State{federation.StatePending, federation.StateActive, federation.StateInactive, federation.StateRejected}
	legal := map[[2]string]federation.State{
		{"PENDING_APPROVAL", "approve"}: federation.StateActive, {"PENDING_APPROVAL", "reject"}: federation.StateRejected,
		{"ACTIVE", "deactivate"}: federation.StateInactive, {"INACTIVE", "reactivate"}: federation.StateActive,
	}
	for _, s := range states {
		for _, a := range []federation.Action{"approve", "reject", "deactivate", "reactivate", "delete"} {
			to, err := federation.Transition(s, a)
			want, ok := legal[[2]string{string(s), string(a)}]
			if ok != (err == nil) || to != want {
				t.Errorf("%s %s: %s, %v", s, a, to, err)
			}
		}
	}
}
