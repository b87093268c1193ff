package fedredis_test

import (
	"context"
	"testing"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedredis"
	"github.com/sovereign-stack/sovereign/federation/fedtest"
	"github.com/sovereign-stack/sovereign/redistest"
)

func TestCache_Redis(t *testing.T) {
	fedtest.RunCacheStore(t, func(t *testing.T) (federation.CacheStore, federation.CacheStore) {
		c1, c2 := redistest.Client(t, "the Redis cache of federated answers"), redistest.Client(t, "the Redis cache of federated answers")
		p := redistest.Prefix(t, c1, "sovereign-test:fedcache:")
		return fedredis.New(c1, p), fedredis.New(c2, p)
	})
}

func TestStore_ErrorsAreMisses(t *testing.T) {
	c := redistest.Client(t, "the Redis cache of federated answers")
	p := redistest.Prefix(t, c, "sovereign-test:fedcache:")
	ctx := context.Background()
	if err := c.Set(ctx, p+"gen", "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s := fedredis.New(c, p)
	if _, _, err := s.Get(ctx, "k"); err == nil {
		t.Fatal("a corrupt generation read as fine")
	}
	calls := &fedtest.Caller{Hits: map[string][]federation.Hit{"b.test": {fedtest.Hit("b.test", "agt_b", 1)}}}
	f := &federation.Fanout{Self: "a.test", Peers: func() []federation.Peer { return []federation.Peer{{ID: "fpr_b", TrustDomain: "b.test"}} },
		Caller: calls, Cache: &federation.Cache{Store: s}}
	for i := 0; i < 2; i++ {
		if res := f.Query(ctx, federation.Query{Text: "x", Hops: 1}, nil); res.Cached || len(res.Hits) != 1 {
			t.Fatalf("query %d through a failing cache: %+v", i, res)
		}
	}
	if calls.Calls() != 2 {
		t.Fatalf("calls %d", calls.Calls())
	}
}
