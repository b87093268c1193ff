package federation

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache defaults and limits.
const (
	// DefaultCacheTTL is how long a complete federated answer (every peer asked answered) is
	// reused for the same query.
	DefaultCacheTTL = 10 * time.Second
	// DefaultPartialTTL bounds how long a partial answer (a peer timed out, failed or was
	// skipped by its breaker) is reused: short, so that a peer that comes back is soon asked
	// again.
	DefaultPartialTTL = 2 * time.Second
	// DefaultCacheBytes is the memory store's budget of cached answers.
	DefaultCacheBytes = 64 << 20
	// MaxCachedAnswerBytes is the largest answer kept; larger ones are not cached.
	MaxCachedAnswerBytes = 1 << 20
)

// CacheStore keeps encoded federated answers under keys, each for a while, and a generation
// counter that invalidation bumps. MemoryCacheStore keeps them in this process; a Redis store
// (federation/fedredis) shares them between the replicas of a registry.
type CacheStore interface {
	// Get returns the value under key (nil when absent or expired) and the current
	// generation, together.
	Get(ctx context.Context, key string) (val []byte, gen uint64, err error)
	// Set stores val under key for ttl.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Bump increments the generation: every value stored before is stale.
	Bump(ctx context.Context) error
}

// Cache reuses the peers' part of federated answers for a short while: the hits gathered from
// the peers and the peers section, keyed by the normalized query (text, filters, limit, hops,
// origins) and the set of ACTIVE peers. This registry's own hits are never cached: they are
// searched afresh and merged with the cached part on each query, so a local change shows at
// once. A change at a peer shows after TTL at the latest, or at once when the sync of that
// peer's changes calls InvalidateOrigin.
//
// A complete answer is kept for TTL; a partial one (a peer timed out, failed or was skipped)
// for at most PartialTTL. A failing store is a miss, never an error of the query. Searches
// missing the same key at once in this process share one fan-out.
type Cache struct {
	// Store keeps the answers (a MemoryCacheStore when nil).
	Store CacheStore
	// TTL is how long a complete answer is reused (DefaultCacheTTL when 0).
	TTL time.Duration
	// PartialTTL is how long a partial answer is reused at most (DefaultPartialTTL when 0).
	PartialTTL time.Duration
	// Log receives the store's errors (discarded when nil).
	Log *slog.Logger

	once   sync.Once
	hits   atomic.Int64
	miss   atomic.Int64
	flight singleflight.Group
}

// cached is a stored answer: the generation it was computed at, and the peers' part.
type cached struct {
	Gen   uint64        `json:"gen"`
	Hits  []Hit         `json:"hits"`
	Peers []PeerOutcome `json:"peers"`
}

func (c *Cache) init() {
	c.once.Do(func() {
		if c.Store == nil {
			c.Store = NewMemoryCacheStore(DefaultCacheBytes)
		}
		if c.TTL <= 0 {
			c.TTL = DefaultCacheTTL
		}
		if c.PartialTTL <= 0 {
			c.PartialTTL = DefaultPartialTTL
		}
		if c.Log == nil {
			c.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// InvalidateOrigin makes every cached answer stale because registry origin's cards changed.
// Any cached answer may hold origin's cards, or lack one it now has, so all of them go: the
// generation is bumped (in Redis, for every replica at once).
func (c *Cache) InvalidateOrigin(ctx context.Context, origin string) error {
	c.init()
	if err := c.Store.Bump(ctx); err != nil {
		c.Log.Warn("federation: cache invalidation failed", "origin", origin, "err", err)
		return err
	}
	return nil
}

// Stats are the cache's hits and misses since the start.
func (c *Cache) Stats() (hits, misses int64) { return c.hits.Load(), c.miss.Load() }

// CacheKey is the key of q's answer at registry self with peers ACTIVE: the same for every
// spelling of the same query (case and spacing of the text, order and repeats of filters and
// origins), different when anything that changes the peers' answers differs.
func CacheKey(self string, q Query, peers []Peer) string {
	var b strings.Builder
	b.WriteString("v1\x00")
	b.WriteString(self)
	b.WriteString("\x00")
	b.WriteString(strings.Join(strings.Fields(strings.ToLower(q.Text)), " "))
	set := func(name string, v []string) {
		v = slices.Clone(v)
		slices.Sort(v)
		b.WriteString("\x00" + name + "=" + strings.Join(slices.Compact(v), "\x01"))
	}
	set("tag", q.Tags)
	set("skill", q.Skills)
	set("capability", q.Capabilities)
	set("origin", q.Origins)
	b.WriteString("\x00limit=" + strconv.Itoa(q.Limit) + "\x00hops=" + strconv.Itoa(q.Hops))
	ps := make([]string, 0, len(peers))
	for _, p := range peers {
		ps = append(ps, p.ID+" "+p.TrustDomain+" "+p.BaseURL)
	}
	set("peers", ps)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// get returns the cached answer of key if it is current, and the generation to store a new
// answer at.
func (c *Cache) get(ctx context.Context, key string) (cached, bool, uint64) {
	c.init()
	val, gen, err := c.Store.Get(ctx, key)
	if err != nil {
		c.Log.Warn("federation: cache read failed", "err", err)
		c.miss.Add(1)
		return cached{}, false, 0
	}
	var e cached
	if val == nil || json.Unmarshal(val, &e) != nil || e.Gen != gen {
		c.miss.Add(1)
		return cached{}, false, gen
	}
	c.hits.Add(1)
	return e, true, gen
}

// put stores an answer computed at generation gen (a bump meanwhile makes it stale at once).
func (c *Cache) put(ctx context.Context, key string, gen uint64, hits []Hit, peers []PeerOutcome) {
	ttl := c.TTL
	for _, o := range peers {
		if o.Status != PeerAnswered && o.Reason != "in_origins" {
			ttl = min(ttl, c.PartialTTL)
			break
		}
	}
	val, err := json.Marshal(cached{Gen: gen, Hits: hits, Peers: peers})
	if err != nil || len(val) > MaxCachedAnswerBytes {
		return
	}
	if err := c.Store.Set(ctx, key, val, ttl); err != nil {
		c.Log.Warn("federation: cache write failed", "err", err)
	}
}

// MemoryCacheStore is a CacheStore in this process: least recently used answers go first
// when the byte budget is full.
type MemoryCacheStore struct {
	budget int
	gen    atomic.Uint64
	now    func() time.Time

	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type memEntry struct {
	key     string
	val     []byte
	expires time.Time
}

// NewMemoryCacheStore returns an empty store holding at most budget bytes of answers.
func NewMemoryCacheStore(budget int) *MemoryCacheStore {
	return &MemoryCacheStore{budget: budget, now: time.Now, order: list.New(), items: map[string]*list.Element{}}
}

// Get implements CacheStore.
func (m *MemoryCacheStore) Get(_ context.Context, key string) ([]byte, uint64, error) {
	gen := m.gen.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, gen, nil
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.remove(el)
		return nil, gen, nil
	}
	m.order.MoveToFront(el)
	return e.val, gen, nil
}

// Set implements CacheStore.
func (m *MemoryCacheStore) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if len(val) > m.budget {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	m.items[key] = m.order.PushFront(&memEntry{key: key, val: val, expires: m.now().Add(ttl)})
	m.size += len(val)
	for m.size > m.budget {
		m.remove(m.order.Back())
	}
	return nil
}

// Bump implements CacheStore; it also frees the stale answers.
func (m *MemoryCacheStore) Bump(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen.Add(1)
	m.order.Init()
	clear(m.items)
	m.size = 0
	return nil
}

// Len is the number of answers held.
func (m *MemoryCacheStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

func (m *MemoryCacheStore) remove(el *list.Element) {
	e := m.order.Remove(el).(*memEntry)
	delete(m.items, e.key)
	m.size -= len(e.val)
}
