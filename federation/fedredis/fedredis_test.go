package fedredis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedredis"
	"github.com/sovereign-stack/sovereign/federation/fedtest"
)

func client(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("SOVEREIGN_TEST_REDIS")
	if url == "" {
		t.Skip("SOVEREIGN_TEST_REDIS not set: skipping the Redis cache of federated answers")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping Redis at %s: %v", url, err)
	}
	return c
}

// prefix is a key prefix of its own, whose keys are removed when the test ends.
func prefix(t *testing.T, c *redis.Client) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := "sovereign-test:fedcache:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, _ := c.Keys(ctx, p+"*").Result()
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
	return p
}

func TestCache_Redis(t *testing.T) {
	fedtest.RunCacheStore(t, func(t *testing.T) (federation.CacheStore, federation.CacheStore) {
		c1, c2 := client(t), client(t)
		p := prefix(t, c1)
		return fedredis.New(c1, p), fedredis.New(c2, p)
	})
}

func TestStore_ErrorsAreMisses(t *testing.T) {
	c := client(t)
	p := prefix(t, c)
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
