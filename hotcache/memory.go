package hotcache

import (
	"container/list"
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// memoryShards splits a Memory cache so that concurrent readers seldom wait for one another.
const memoryShards = 32

// Memory is a Cache in this process: at most MaxEntries entries (values and markers), the
// least recently used going first, each for at most TTL. Values are kept as given, not copied:
// callers store values they do not change afterwards, and copy what they get before changing
// it.
type Memory[V any] struct {
	ttl    time.Duration
	now    func() time.Time
	seed   maphash.Seed
	shards [memoryShards]memoryShard[V]
}

type memoryShard[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type memoryItem[V any] struct {
	key     string
	version int64
	val     V
	hasVal  bool
	expires time.Time
}

var _ Cache[int] = (*Memory[int])(nil)

// NewMemory returns an empty cache of at most maxEntries entries (DefaultMaxEntries when 0),
// each kept for ttl (DefaultTTL when 0).
func NewMemory[V any](maxEntries int, ttl time.Duration) *Memory[V] {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	m := &Memory[V]{ttl: ttl, now: time.Now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i] = memoryShard[V]{max: max(1, maxEntries/memoryShards), order: list.New(), items: map[string]*list.Element{}}
	}
	return m
}

// SetClock replaces the cache's clock (tests).
func (m *Memory[V]) SetClock(now func() time.Time) { m.now = now }

func (m *Memory[V]) shard(key string) *memoryShard[V] {
	return &m.shards[maphash.String(m.seed, key)%memoryShards]
}

// Len is the number of entries held, markers included.
func (m *Memory[V]) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}

// Get implements Cache.
func (m *Memory[V]) Get(_ context.Context, keys ...string) ([]Entry[V], error) {
	out := make([]Entry[V], len(keys))
	now := m.now()
	for i, k := range keys {
		s := m.shard(k)
		s.mu.Lock()
		if el, ok := s.items[k]; ok {
			it := el.Value.(*memoryItem[V])
			switch {
			case now.After(it.expires):
				s.remove(el)
			case it.hasVal:
				s.order.MoveToFront(el)
				out[i] = Entry[V]{Val: it.val, Version: it.version, OK: true}
			}
		}
		s.mu.Unlock()
	}
	return out, nil
}

// Set implements Cache.
func (m *Memory[V]) Set(_ context.Context, key string, version int64, val V) error {
	m.put(key, version, val, true)
	return nil
}

// Invalidate implements Cache.
func (m *Memory[V]) Invalidate(_ context.Context, key string, version int64) error {
	var zero V
	m.put(key, version, zero, false)
	return nil
}

// put stores a value (hasVal) or a marker under key at version, keeping what is stored when it
// is newer: a value at version v outranks a marker at v, a marker at v outranks a value below v.
func (m *Memory[V]) put(key string, version int64, val V, hasVal bool) {
	now := m.now()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		it := el.Value.(*memoryItem[V])
		if !now.After(it.expires) && keeps(it.version, it.hasVal, version, hasVal) {
			return
		}
		if !hasVal && !now.After(it.expires) && it.version > version {
			version = it.version // a marker never lowers the version stored
		}
		it.version, it.val, it.hasVal, it.expires = version, val, hasVal, now.Add(m.ttl)
		s.order.MoveToFront(el)
		return
	}
	s.items[key] = s.order.PushFront(&memoryItem[V]{key: key, version: version, val: val, hasVal: hasVal, expires: now.Add(m.ttl)})
	for len(s.items) > s.max {
		s.remove(s.order.Back())
	}
}

// keeps reports whether a stored entry (version cur, a value when curVal) stays when a value
// (newVal) or a marker at version v is offered.
func keeps(cur int64, curVal bool, v int64, newVal bool) bool {
	if newVal {
		return cur > v || (cur == v && curVal)
	}
	return curVal && cur >= v
}

func (s *memoryShard[V]) remove(el *list.Element) {
	s.order.Remove(el)
	delete(s.items, el.Value.(*memoryItem[V]).key)
}
