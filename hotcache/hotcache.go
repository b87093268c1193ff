// Package hotcache keeps values that are read far more often than they are written (card
// documents, parameters, the trust bundle, balances of hot accounts) in a versioned cache: in
// this process (Memory, bounded), or in Redis (Redis) so that the replicas of a service share it
// and an invalidation made by one is seen by all.
//
// Every entry carries the version of the source it was read at (a row's revision, a ledger
// position): Set keeps the newer of what is stored and what is offered, so a reader that read
// the source before a write and stores its value after the writer's write-through never puts
// the older value back; Invalidate leaves a marker at the writer's version that refuses older
// values the same way. Readers therefore store what they read, and writers, after they commit,
// either store what they wrote (write-through) or invalidate at its version.
package hotcache

import (
	"context"
	"sync/atomic"
	"time"
)

// Entry is what Get found under a key: OK is false for a miss (absent, expired, or only an
// invalidation marker).
type Entry[V any] struct {
	Val     V
	Version int64
	OK      bool
}

// Cache is a versioned cache of values of type V. Implementations are safe for concurrent use.
// A failing cache (Redis unreachable) returns an error; callers treat it as a miss and read
// the source.
type Cache[V any] interface {
	// Get returns the entries under keys, in order.
	Get(ctx context.Context, keys ...string) ([]Entry[V], error)
	// Set stores val under key at version unless key holds a value at a version at least as
	// high, or an invalidation marker above version.
	Set(ctx context.Context, key string, version int64, val V) error
	// Invalidate removes the value under key unless it is at version or above, and leaves a
	// marker so that values below version are refused from then on (for the entry TTL).
	Invalidate(ctx context.Context, key string, version int64) error
}

// Default bounds.
const (
	// DefaultTTL is how long an entry (value or marker) lives when a cache is made without one.
	DefaultTTL = 10 * time.Minute
	// DefaultMaxEntries bounds a Memory cache made without a bound.
	DefaultMaxEntries = 100_000
)

// Stats counts a cache's hits, misses and invalidations (Instrumented keeps them).
type Stats struct {
	Hits, Misses, Invalidations, Errors atomic.Int64
}

// Instrumented is a Cache that counts what goes through it in Stats.
type Instrumented[V any] struct {
	Cache[V]
	Stats *Stats
}

// Instrument wraps c so that its hits, misses, invalidations and errors are counted in st.
func Instrument[V any](c Cache[V], st *Stats) *Instrumented[V] {
	return &Instrumented[V]{Cache: c, Stats: st}
}

// Get implements Cache, counting each key as a hit or a miss (every key a miss when the cache
// fails).
func (c *Instrumented[V]) Get(ctx context.Context, keys ...string) ([]Entry[V], error) {
	es, err := c.Cache.Get(ctx, keys...)
	if err != nil {
		c.Stats.Errors.Add(1)
		c.Stats.Misses.Add(int64(len(keys)))
		return nil, err
	}
	var hits int64
	for _, e := range es {
		if e.OK {
			hits++
		}
	}
	c.Stats.Hits.Add(hits)
	c.Stats.Misses.Add(int64(len(keys)) - hits)
	return es, nil
}

// Set implements Cache.
func (c *Instrumented[V]) Set(ctx context.Context, key string, version int64, val V) error {
	err := c.Cache.Set(ctx, key, version, val)
	if err != nil {
		c.Stats.Errors.Add(1)
	}
	return err
}

// Invalidate implements Cache, counting the invalidation.
func (c *Instrumented[V]) Invalidate(ctx context.Context, key string, version int64) error {
	c.Stats.Invalidations.Add(1)
	err := c.Cache.Invalidate(ctx, key, version)
	if err != nil {
		c.Stats.Errors.Add(1)
	}
	return err
}
