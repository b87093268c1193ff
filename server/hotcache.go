package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// Kinds of hot reads the server caches (the kind label of the sovereign_hotcache_* series).
const (
	hotCards    = "card"
	hotParams   = "params"
	hotBalances = "balance"
)

// hotKinds lists every kind, in the order their series are registered.
var hotKinds = []string{hotCards, hotParams, hotBalances}

// Bounds of the in-process caches (when no Redis is configured).
const (
	// hotCardEntries bounds the in-process card cache (a card document is a few KiB).
	hotCardEntries = 50_000
	// indexSyncInterval is how often the discovery index (and with it the card cache) follows
	// the store's change feed.
	indexSyncInterval = time.Second
	// hotBalanceEntries bounds the in-process balance cache and the hot set (an account is
	// well under 1 KiB).
	hotBalanceEntries = 100_000
)

// newHotStats returns the counters of every kind.
func newHotStats() map[string]*hotcache.Stats {
	m := make(map[string]*hotcache.Stats, len(hotKinds))
	for _, k := range hotKinds {
		m[k] = &hotcache.Stats{}
	}
	return m
}

// newHotCache is the cache of one kind of hot read: in Redis when the server has Redis (shared
// by the replicas, under a prefix of the kind and the trust domain), else in this process (at
// most maxEntries), each entry kept for ttl (hotcache.DefaultTTL when 0), counted in the kind's
// series.
func newHotCache[V any](s *Server, kind string, maxEntries int, ttl time.Duration, codec hotcache.Codec[V]) hotcache.Cache[V] {
	return hotcache.Instrument(newSharedCache(s, kind, maxEntries, ttl, codec), s.hotStats[kind])
}

// newSharedCache is newHotCache without the counters.
func newSharedCache[V any](s *Server, kind string, maxEntries int, ttl time.Duration, codec hotcache.Codec[V]) hotcache.Cache[V] {
	if s.redis != nil {
		return hotcache.NewRedis(s.redis, "sovereign:hot:"+kind+":"+s.cfg.TrustDomain+":", ttl, codec)
	}
	return hotcache.NewMemory[V](maxEntries, ttl)
}

// balanceCache is the ledger's cache of hot accounts' balances (tegsql.WithBalanceCache): the
// balances (kind balance, entries kept for tegsql.BalanceTTL) and the set of accounts read
// lately (its own prefix, balance-hot, not counted). Without Redis the caches are this
// process's own, each hit checked against the stored head.
func balanceCache(s *Server) tegsql.Option {
	return tegsql.WithBalanceCache(newHotCache(s, hotBalances, hotBalanceEntries, tegsql.BalanceTTL, tegsql.BalanceCodec),
		newSharedCache(s, hotBalances+"-hot", hotBalanceEntries, tegsql.HotTTL, tegsql.HotCodec), tegsql.BalanceTTL, s.redis == nil)
}

// hotCacheCollectors are the series of the caches of hot reads, per kind.
func hotCacheCollectors(stats map[string]*hotcache.Stats) []prometheus.Collector {
	var cs []prometheus.Collector
	counter := func(name, help, kind string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"kind": kind}},
			func() float64 { return float64(f()) })
	}
	for _, k := range hotKinds {
		st := stats[k]
		cs = append(cs,
			counter("sovereign_hotcache_hits_total", "Reads of hot values (card documents, …) answered by the cache, by kind.", k, st.Hits.Load),
			counter("sovereign_hotcache_misses_total", "Reads of hot values the cache did not hold (read from the store), by kind.", k, st.Misses.Load),
			counter("sovereign_hotcache_invalidations_total", "Invalidations of cached hot values (a change seen in the change feed), by kind.", k, st.Invalidations.Load),
			counter("sovereign_hotcache_errors_total", "Cache operations that failed (Redis unreachable; the store answered), by kind.", k, st.Errors.Load))
	}
	return cs
}
