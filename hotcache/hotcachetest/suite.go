// Package hotcachetest is the test suite every hotcache.Cache passes.
package hotcachetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/hotcache"
)

// NewCaches returns two caches of strings over the same storage (what two replicas of a
// service see), whose entries live for ttl.
type NewCaches func(t *testing.T, ttl time.Duration) (hotcache.Cache[string], hotcache.Cache[string])

// Run runs the suite.
func Run(t *testing.T, newCaches NewCaches) {
	ctx := context.Background()
	get := func(t *testing.T, c hotcache.Cache[string], key string) hotcache.Entry[string] {
		t.Helper()
		es, err := c.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 {
			t.Fatalf("Get of one key: %d entries", len(es))
		}
		return es[0]
	}
	want := func(t *testing.T, c hotcache.Cache[string], key, val string, version int64) {
		t.Helper()
		e := get(t, c, key)
		if val == "" {
			if e.OK {
				t.Fatalf("%s: want a miss, got %q at %d", key, e.Val, e.Version)
			}
			return
		}
		if !e.OK || e.Val != val || e.Version != version {
			t.Fatalf("%s: want %q at %d, got %+v", key, val, version, e)
		}
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("miss, set, hit; several keys in order", func(t *testing.T) {
		c, _ := newCaches(t, time.Minute)
		want(t, c, "a", "", 0)
		must(t, c.Set(ctx, "a", 3, "a3"))
		must(t, c.Set(ctx, "b", 1, "b1"))
		want(t, c, "a", "a3", 3)
		es, err := c.Get(ctx, "b", "nope", "a")
		must(t, err)
		if len(es) != 3 || es[0].Val != "b1" || es[1].OK || es[2].Val != "a3" {
			t.Fatalf("entries %+v", es)
		}
		if es, err := c.Get(ctx); err != nil || len(es) != 0 {
			t.Fatalf("no keys: %v %v", es, err)
		}
	})

	t.Run("an older value never replaces a newer one", func(t *testing.T) {
		c1, c2 := newCaches(t, time.Minute)
		must(t, c1.Set(ctx, "k", 5, "v5"))
		must(t, c2.Set(ctx, "k", 4, "v4"))
		want(t, c1, "k", "v5", 5)
		must(t, c2.Set(ctx, "k", 5, "other5")) // same version: what is there stays
		want(t, c1, "k", "v5", 5)
		must(t, c2.Set(ctx, "k", 6, "v6"))
		want(t, c1, "k", "v6", 6)
		must(t, c1.Set(ctx, "k", 0, "v0"))
		want(t, c2, "k", "v6", 6)
	})

	t.Run("an invalidation reaches every replica and refuses older values", func(t *testing.T) {
		c1, c2 := newCaches(t, time.Minute)
		must(t, c1.Set(ctx, "k", 5, "v5"))
		must(t, c2.Invalidate(ctx, "k", 7))
		want(t, c1, "k", "", 0)
		must(t, c1.Set(ctx, "k", 6, "v6")) // read before the write at 7: refused
		want(t, c2, "k", "", 0)
		must(t, c1.Set(ctx, "k", 7, "v7")) // the write's own value
		want(t, c2, "k", "v7", 7)
		must(t, c2.Invalidate(ctx, "k", 7)) // a value at the marker's version is current
		want(t, c1, "k", "v7", 7)
		must(t, c2.Invalidate(ctx, "k", 6))
		want(t, c1, "k", "v7", 7)
		// A marker never lowers the version refused.
		must(t, c1.Invalidate(ctx, "j", 10))
		must(t, c2.Invalidate(ctx, "j", 3))
		must(t, c1.Set(ctx, "j", 9, "v9"))
		want(t, c2, "j", "", 0)
		must(t, c1.Set(ctx, "j", 10, "v10"))
		want(t, c2, "j", "v10", 10)
		// Invalidating a key never set leaves a marker too.
		must(t, c2.Invalidate(ctx, "fresh", 2))
		must(t, c1.Set(ctx, "fresh", 1, "v1"))
		want(t, c2, "fresh", "", 0)
	})

	t.Run("values odd and large", func(t *testing.T) {
		c1, c2 := newCaches(t, time.Minute)
		big := make([]byte, 200_000)
		for i := range big {
			big[i] = byte(i)
		}
		for i, v := range []string{"", "|", "1|x", "a|v|b", string(big)} {
			k := fmt.Sprint("odd", i)
			must(t, c1.Set(ctx, k, int64(i)+1<<40, v))
			e := get(t, c2, k)
			if !e.OK || e.Val != v || e.Version != int64(i)+1<<40 {
				t.Fatalf("value %d: %v %d %d", i, e.OK, len(e.Val), e.Version)
			}
		}
	})

	t.Run("entries expire", func(t *testing.T) {
		c1, c2 := newCaches(t, 200*time.Millisecond)
		must(t, c1.Set(ctx, "k", 1, "v1"))
		must(t, c1.Invalidate(ctx, "m", 5))
		want(t, c2, "k", "v1", 1)
		time.Sleep(400 * time.Millisecond)
		want(t, c2, "k", "", 0)
		must(t, c2.Set(ctx, "m", 1, "m1")) // the marker is gone with its TTL
		want(t, c1, "m", "m1", 1)
	})

	t.Run("concurrent writers: the highest version wins", func(t *testing.T) {
		c1, c2 := newCaches(t, time.Minute)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := c1
				if w%2 == 1 {
					c = c2
				}
				for i := 0; i < 50; i++ {
					v := int64((i*7 + w*13) % 100)
					var err error
					if i%5 == 4 {
						err = c.Invalidate(ctx, "hot", v)
					} else {
						err = c.Set(ctx, "hot", v, fmt.Sprint("v", v))
					}
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := c.Get(ctx, "hot"); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		must(t, c1.Set(ctx, "hot", 98, "v98"))
		must(t, c2.Set(ctx, "hot", 99, "v99"))
		must(t, c1.Set(ctx, "hot", 100, "v100"))
		want(t, c2, "hot", "v100", 100)
	})
}
