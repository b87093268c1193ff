package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/redistest"
)

// TestFederation_CachedAnswersAndETag: a federated search's peers' part is reused (in memory,
// or in Redis when the registry has Redis) until the sync of a peer's changes invalidates it;
// this registry's own cards show at once; the page's ETag answers If-None-Match with a 304.
func TestFederation_CachedAnswersAndETag(t *testing.T) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			opt := func(c *config.Config) { c.Federation.CacheTTL = time.Hour }
			if backend == "redis" {
				url := redistest.URL(t, "the Redis cache of federated answers")
				opt = func(c *config.Config) { c.Federation.CacheTTL = time.Hour; c.Redis = url }
			}
			a, b := newFedStack(t, "a.test", opt), newFedStack(t, "b.test")
			devA, devB := a.register("ada@a.test", true), b.register("bob@b.test", true)
			a.peer(t, b, devA)
			b.peer(t, a, devB)
			a.waitBundle(t, "b.test")
			b.waitBundle(t, "a.test")
			ctx := context.Background()
			// Redis outlives the test: start from a generation no earlier run cached at.
			if err := a.server.FederationCache().InvalidateOrigin(ctx, "b.test"); err != nil {
				t.Fatal(err)
			}
			const q = "/api/v1/agent-cards?q=weather&include_federated=true"
			// synced waits until A's local search holds B's card id (sync brought the copy in,
			// which also made the cached answers of B stale).
			synced := func(id string) {
				t.Helper()
				deadline := time.Now().Add(20 * time.Second)
				for items(a.do("GET", "/api/v1/agent-cards?q=weather", nil).want(t, 200, ""))["b.test/"+id] == "" {
					if time.Now().After(deadline) {
						t.Fatalf("B's card %s never reached A by sync", id)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			onB := b.publish(t, devB, "Weather Bee", "weather forecasts from B")
			synced(onB)

			r := a.do("GET", q, nil).want(t, 200, "")
			etag := r.Header.Get("ETag")
			if got := items(r); len(got) != 1 || got["b.test/"+onB] == "" || !strings.HasPrefix(etag, `W/"`) {
				t.Fatalf("first search: %v, ETag %q", got, etag)
			}
			a.do("GET", q, nil, hdr{"If-None-Match", etag}).want(t, 304, "")
			if h, _ := a.server.FederationCache().Stats(); h != 1 {
				t.Fatalf("cache hits %d, want 1 (the 304)", h)
			}

			// A change at B reaches A by sync, which makes the cached answer stale: the next
			// federated search asks B again and has a new ETag.
			onB2 := b.publish(t, devB, "Weather Two", "weather forecasts again")
			synced(onB2)
			r = a.do("GET", q, nil, hdr{"If-None-Match", etag}).want(t, 200, "")
			if got := items(r); len(got) != 2 || got["b.test/"+onB2] == "" || r.Header.Get("ETag") == etag {
				t.Fatalf("after B's change was synced: %v, ETag %q (was %q)", got, r.Header.Get("ETag"), etag)
			}
			etag = r.Header.Get("ETag")
			// This registry's own cards are never cached.
			local := a.publish(t, devA, "Weather Local", "weather forecasts here")
			r = a.do("GET", q, nil).want(t, 200, "")
			if got := items(r); len(got) != 3 || got["a.test/"+local] == "" || r.Header.Get("ETag") == etag {
				t.Fatalf("a local card with a cached answer: %v", got)
			}
			hits, _ := a.server.FederationCache().Stats()
			if err := a.server.FederationCache().InvalidateOrigin(ctx, "b.test"); err != nil {
				t.Fatal(err)
			}
			a.do("GET", q, nil).want(t, 200, "")
			if h, _ := a.server.FederationCache().Stats(); h != hits {
				t.Fatalf("a search after InvalidateOrigin was answered from the cache (hits %d → %d)", hits, h)
			}
			// A search without include_federated keeps its strong ETag.
			if e := a.do("GET", "/api/v1/agent-cards?q=weather", nil).want(t, 200, "").Header.Get("ETag"); strings.HasPrefix(e, "W/") || e == "" {
				t.Fatalf("local ETag %q", e)
			}
		})
	}
}
