package federation_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedtest"
)

func TestCache_Memory(t *testing.T) {
	fedtest.RunCacheStore(t, func(*testing.T) (federation.CacheStore, federation.CacheStore) {
		s := federation.NewMemoryCacheStore(federation.DefaultCacheBytes)
		return s, s
	})
}

func TestMemoryCacheStore_EvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s := federation.NewMemoryCacheStore(30)
	val := []byte(strings.Repeat("x", 10))
	for _, k := range []string{"a", "b", "c"} {
		_ = s.Set(ctx, k, val, time.Hour)
	}
	_, _, _ = s.Get(ctx, "a") // a is used: b is now the oldest
	_ = s.Set(ctx, "d", val, time.Hour)
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if v, _, _ := s.Get(ctx, k); (v != nil) != want {
			t.Errorf("%s held %v, want %v", k, v != nil, want)
		}
	}
	_ = s.Set(ctx, "big", []byte(strings.Repeat("x", 31)), time.Hour)
	if v, _, _ := s.Get(ctx, "big"); v != nil || s.Len() != 3 {
		t.Fatalf("an answer over the budget was kept (len %d)", s.Len())
	}
}

func TestCacheKey_NormalizesSpelling(t *testing.T) {
	peers := []federation.Peer{{ID: "fpr_1", TrustDomain: "b.test"}}
	k := federation.CacheKey("a.test", federation.Query{Text: " Weather\tNOW ", Tags: []string{"b", "a", "a"}, Hops: 1}, peers)
	if k2 := federation.CacheKey("a.test", federation.Query{Text: "weather now", Tags: []string{"a", "b"}, Hops: 1}, peers); k != k2 {
		t.Fatal("the same query spelt otherwise has another key")
	}
	for name, other := range map[string]string{
		"text":   federation.CacheKey("a.test", federation.Query{Text: "weather", Tags: []string{"a", "b"}, Hops: 1}, peers),
		"self":   federation.CacheKey("x.test", federation.Query{Text: "weather now", Tags: []string{"a", "b"}, Hops: 1}, peers),
		"peers":  federation.CacheKey("a.test", federation.Query{Text: "weather now", Tags: []string{"a", "b"}, Hops: 1}, nil),
		"filter": federation.CacheKey("a.test", federation.Query{Text: "weather now", Skills: []string{"a", "b"}, Hops: 1}, peers),
	} {
		if other == k {
			t.Errorf("another %s, same key", name)
		}
	}
}

// TestCache_OneFanoutForConcurrentMisses: searches missing the same key at once share one
// fan-out, and each gets the answer.
func TestCache_OneFanoutForConcurrentMisses(t *testing.T) {
	c := &fedtest.Caller{Hits: map[string][]federation.Hit{"b.test": {fedtest.Hit("b.test", "agt_b", 5)}}, Delay: 50 * time.Millisecond}
	f := &federation.Fanout{Self: "a.test", Peers: func() []federation.Peer { return []federation.Peer{{ID: "fpr_b", TrustDomain: "b.test"}} },
		Caller: c, Cache: &federation.Cache{}}
	var wg sync.WaitGroup
	results := make([]federation.Result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.Query(context.Background(), federation.Query{Text: "x", Hops: 1}, []federation.Hit{fedtest.Hit("a.test", "agt_a", i)})
		}()
	}
	wg.Wait()
	if c.Calls() != 1 {
		t.Fatalf("%d fan-outs for one key", c.Calls())
	}
	for i, r := range results {
		if len(r.Hits) != 2 || len(r.Peers) != 1 {
			t.Fatalf("search %d: %+v", i, r)
		}
	}
}
