package hotcache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/hotcache/hotcachetest"
	"github.com/sovereign-stack/sovereign/redistest"
)

var stringCodec = hotcache.Codec[string]{
	Marshal:   func(s string) ([]byte, error) { return []byte(s), nil },
	Unmarshal: func(b []byte) (string, error) { return string(b), nil },
}

func TestMemory(t *testing.T) {
	hotcachetest.Run(t, func(t *testing.T, ttl time.Duration) (hotcache.Cache[string], hotcache.Cache[string]) {
		m := hotcache.NewMemory[string](1000, ttl)
		return m, m
	})
}

func TestMemory_Bounded(t *testing.T) {
	ctx := context.Background()
	m := hotcache.NewMemory[string](64, time.Minute)
	for i := 0; i < 10_000; i++ {
		_ = m.Set(ctx, fmt.Sprint("k", i), 1, "v")
	}
	if n := m.Len(); n > 64 {
		t.Fatalf("%d entries held, bound 64", n)
	}
	// The most recently used stays.
	_ = m.Set(ctx, "hot", 1, "v")
	for i := 0; i < 1000; i++ {
		if es, _ := m.Get(ctx, "hot"); !es[0].OK {
			t.Fatalf("the hot key went after %d other writes", i)
		}
		_ = m.Set(ctx, fmt.Sprint("x", i), 1, "v")
	}
}

func TestRedis(t *testing.T) {
	hotcachetest.Run(t, func(t *testing.T, ttl time.Duration) (hotcache.Cache[string], hotcache.Cache[string]) {
		c1, c2 := redistest.Client(t, "the Redis hot cache"), redistest.Client(t, "the Redis hot cache")
		p := redistest.Prefix(t, c1, "sovereign-test:hot:")
		return hotcache.NewRedis(c1, p, ttl, stringCodec), hotcache.NewRedis(c2, p, ttl, stringCodec)
	})
}

func TestRedis_CorruptEntriesAreMisses(t *testing.T) {
	c := redistest.Client(t, "the Redis hot cache")
	p := redistest.Prefix(t, c, "sovereign-test:hot:")
	ctx := context.Background()
	bad := hotcache.Codec[string]{Marshal: stringCodec.Marshal, Unmarshal: func(b []byte) (string, error) {
		if string(b) == "bad" {
			return "", errors.New("bad")
		}
		return string(b), nil
	}}
	r := hotcache.NewRedis(c, p, time.Minute, bad)
	_ = c.Set(ctx, p+"noversion", "x|vfine", 0).Err()
	_ = c.Set(ctx, p+"nobar", "12", 0).Err()
	_ = r.Set(ctx, "undecodable", 1, "bad")
	es, err := r.Get(ctx, "noversion", "nobar", "undecodable")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if e.OK {
			t.Fatalf("entry %d read as %+v", i, e)
		}
	}
}

func TestInstrumented_Counts(t *testing.T) {
	ctx := context.Background()
	var st hotcache.Stats
	c := hotcache.Instrument[string](hotcache.NewMemory[string](10, time.Minute), &st)
	_ = c.Set(ctx, "a", 1, "x")
	_, _ = c.Get(ctx, "a", "b", "c")
	_ = c.Invalidate(ctx, "a", 2)
	if st.Hits.Load() != 1 || st.Misses.Load() != 2 || st.Invalidations.Load() != 1 || st.Errors.Load() != 0 {
		t.Fatalf("hits %d misses %d invalidations %d errors %d", st.Hits.Load(), st.Misses.Load(), st.Invalidations.Load(), st.Errors.Load())
	}
}
