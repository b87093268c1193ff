// Package fedtest holds test helpers of federation shared by its stores: the suite every
// federation.CacheStore passes, and a Caller that answers from memory.
package fedtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/federation"
)

// Caller answers live queries from memory per trust domain, or fails, and counts the calls.
type Caller struct {
	mu   sync.Mutex
	Hits map[string][]federation.Hit
	Fail map[string]bool
	// Delay is how long each answer takes.
	Delay time.Duration
	calls int
}

// Query implements federation.Caller.
func (c *Caller) Query(_ context.Context, p federation.Peer, _ federation.Query) ([]federation.Hit, []federation.PeerOutcome, error) {
	time.Sleep(c.Delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.Fail[p.TrustDomain] {
		return nil, nil, errors.New("connection refused")
	}
	return c.Hits[p.TrustDomain], nil, nil
}

// Calls is how many peer calls were made.
func (c *Caller) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Hit is a hit of origin with id and score.
func Hit(origin, id string, score int) federation.Hit {
	return federation.Hit{Origin: origin, ID: id, Score: score, Doc: []byte(`{"id":"` + id + `"}`)}
}

// RunCacheStore runs the cache suite on a store. newStores returns two stores over the same
// storage (what two replicas of a registry see).
func RunCacheStore(t *testing.T, newStores func(t *testing.T) (federation.CacheStore, federation.CacheStore)) {
	setup := func(t *testing.T, ttl, partial time.Duration) (*federation.Fanout, *federation.Fanout, *Caller) {
		s1, s2 := newStores(t)
		c := &Caller{Hits: map[string][]federation.Hit{"b.test": {Hit("b.test", "agt_b", 50)}, "c.test": {Hit("c.test", "agt_c", 40)}}, Fail: map[string]bool{}}
		peers := []federation.Peer{{ID: "fpr_b", TrustDomain: "b.test"}, {ID: "fpr_c", TrustDomain: "c.test"}}
		mk := func(s federation.CacheStore) *federation.Fanout {
			return &federation.Fanout{Self: "a.test", Peers: func() []federation.Peer { return peers }, Caller: c, Deadline: time.Second,
				Cache: &federation.Cache{Store: s, TTL: ttl, PartialTTL: partial}}
		}
		return mk(s1), mk(s2), c
	}
	ctx := context.Background()
	ids := func(res federation.Result) []string {
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.Origin+"/"+h.ID)
		}
		return out
	}

	t.Run("same query answered from the cache, local hits fresh", func(t *testing.T) {
		f, _, c := setup(t, time.Hour, time.Hour)
		res := f.Query(ctx, federation.Query{Text: "Weather  Forecast", Tags: []string{"x", "y"}, Limit: 10, Hops: 1}, []federation.Hit{Hit("a.test", "agt_a", 60)})
		if res.Cached || c.Calls() != 2 || len(res.Hits) != 3 {
			t.Fatalf("first query: cached %v, calls %d, hits %v", res.Cached, c.Calls(), ids(res))
		}
		// The same query spelt otherwise; this registry's hits changed meanwhile.
		res = f.Query(ctx, federation.Query{Text: "weather forecast", Tags: []string{"y", "x", "x"}, Limit: 10, Hops: 1}, []federation.Hit{Hit("a.test", "agt_new", 10)})
		if !res.Cached || c.Calls() != 2 {
			t.Fatalf("second query: cached %v, calls %d", res.Cached, c.Calls())
		}
		if got := ids(res); len(got) != 3 || got[0] != "b.test/agt_b" || got[2] != "a.test/agt_new" {
			t.Fatalf("hits %v", got)
		}
		if o := res.Peers; len(o) != 2 || o[0].Status != federation.PeerAnswered {
			t.Fatalf("peers of a cached answer %+v", o)
		}
		// Another query, another limit, other hops, other origins: asked again.
		for i, q := range []federation.Query{{Text: "weather", Limit: 10, Hops: 1}, {Text: "weather forecast", Tags: []string{"x", "y"}, Limit: 5, Hops: 1},
			{Text: "weather forecast", Tags: []string{"x", "y"}, Limit: 10, Hops: 2}, {Text: "weather forecast", Tags: []string{"x", "y"}, Limit: 10, Hops: 1, Origins: []string{"z.test"}}} {
			if res := f.Query(ctx, q, nil); res.Cached || c.Calls() != 4+2*i {
				t.Fatalf("query %d %+v: cached %v, calls %d", i, q, res.Cached, c.Calls())
			}
		}
	})

	t.Run("shared by replicas, invalidated for all by one", func(t *testing.T) {
		f1, f2, c := setup(t, time.Hour, time.Hour)
		q := federation.Query{Text: "weather", Limit: 10, Hops: 1}
		f1.Query(ctx, q, nil)
		if res := f2.Query(ctx, q, nil); !res.Cached || c.Calls() != 2 {
			t.Fatalf("the other replica: cached %v, calls %d", res.Cached, c.Calls())
		}
		c.mu.Lock()
		c.Hits["b.test"] = append(c.Hits["b.test"], Hit("b.test", "agt_b2", 45))
		c.mu.Unlock()
		if err := f2.Cache.InvalidateOrigin(ctx, "b.test"); err != nil {
			t.Fatal(err)
		}
		res := f1.Query(ctx, q, nil)
		if res.Cached || len(res.Hits) != 3 {
			t.Fatalf("after invalidation: cached %v, hits %v", res.Cached, ids(res))
		}
		if res := f2.Query(ctx, q, nil); !res.Cached || len(res.Hits) != 3 {
			t.Fatalf("the fresh answer is shared: cached %v, hits %v", res.Cached, ids(res))
		}
		if h, m := f1.Cache.Stats(); h != 0 || m != 2 {
			t.Fatalf("replica 1 stats: %d hits, %d misses", h, m)
		}
	})

	t.Run("partial answers expire sooner", func(t *testing.T) {
		f, _, c := setup(t, time.Hour, 150*time.Millisecond)
		c.Fail["c.test"] = true
		q := federation.Query{Text: "weather", Limit: 10, Hops: 1}
		f.Query(ctx, q, nil)
		if res := f.Query(ctx, q, nil); !res.Cached {
			t.Fatal("a partial answer was not cached at all")
		}
		time.Sleep(250 * time.Millisecond)
		if res := f.Query(ctx, q, nil); res.Cached {
			t.Fatal("a partial answer outlived its TTL")
		}
		c.mu.Lock()
		c.Fail["c.test"] = false
		c.mu.Unlock()
		time.Sleep(250 * time.Millisecond)
		if res := f.Query(ctx, q, nil); res.Cached || len(res.Peers) != 2 || res.Peers[1].Status != federation.PeerAnswered {
			t.Fatalf("the peer back: %+v", res)
		}
		time.Sleep(250 * time.Millisecond)
		if res := f.Query(ctx, q, nil); !res.Cached {
			t.Fatal("a complete answer expired at the partial TTL")
		}
	})

	t.Run("complete answers expire at the TTL", func(t *testing.T) {
		f, _, _ := setup(t, 150*time.Millisecond, 150*time.Millisecond)
		q := federation.Query{Text: "weather", Limit: 10, Hops: 1}
		f.Query(ctx, q, nil)
		time.Sleep(250 * time.Millisecond)
		if res := f.Query(ctx, q, nil); res.Cached {
			t.Fatal("an answer outlived its TTL")
		}
	})
}
