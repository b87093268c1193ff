// Package recentwrites remembers which callers wrote recently, so that their reads can go to the
// primary database rather than a read replica that may not have replayed their write yet
// (read-your-writes). In memory for one process; in Redis when several replicas of the server
// share callers.
package recentwrites

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tracker records a caller's writes and answers whether the caller wrote within the window it
// was made with. Implementations are safe for concurrent use.
type Tracker interface {
	// Wrote records that subject has just written.
	Wrote(ctx context.Context, subject string)
	// Recent reports whether subject wrote within the window. When the answer cannot be had
	// (Redis unreachable) it is true: reading the primary is always correct.
	Recent(ctx context.Context, subject string) bool
}

// maxMemorySubjects bounds the in-memory tracker; past it, expired entries are swept, and if
// none has expired the oldest half of the map goes (those callers then read the replica a
// little early — bounded by the replica's own lag check).
const maxMemorySubjects = 100_000

// Memory is a Tracker for a single process.
type Memory struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	at     map[string]time.Time
}

// NewMemory returns a Tracker that remembers writes for window.
func NewMemory(window time.Duration) *Memory {
	return &Memory{window: window, now: time.Now, at: make(map[string]time.Time)}
}

// Wrote implements Tracker.
func (m *Memory) Wrote(_ context.Context, subject string) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.at) >= maxMemorySubjects {
		m.sweep(now)
	}
	m.at[subject] = now
}

func (m *Memory) sweep(now time.Time) {
	for s, t := range m.at {
		if now.Sub(t) > m.window {
			delete(m.at, s)
		}
	}
	if len(m.at) < maxMemorySubjects {
		return
	}
	cut := now.Add(-m.window / 2)
	for s, t := range m.at {
		if t.Before(cut) {
			delete(m.at, s)
		}
	}
}

// Recent implements Tracker.
func (m *Memory) Recent(_ context.Context, subject string) bool {
	m.mu.Lock()
	t, ok := m.at[subject]
	m.mu.Unlock()
	return ok && m.now().Sub(t) <= m.window
}

// Redis is a Tracker shared by every server using the same Redis and prefix: one key a caller,
// expiring after the window. Each process also remembers its own callers' writes in memory, so
// a write recorded while Redis was unreachable still counts where it was made.
type Redis struct {
	client *redis.Client
	prefix string
	window time.Duration
	local  *Memory
}

// NewRedis returns a Tracker in Redis under prefix that remembers writes for window.
func NewRedis(client *redis.Client, prefix string, window time.Duration) *Redis {
	return &Redis{client: client, prefix: prefix, window: window, local: NewMemory(window)}
}

// Wrote implements Tracker.
func (r *Redis) Wrote(ctx context.Context, subject string) {
	r.local.Wrote(ctx, subject)
	_ = r.client.Set(ctx, r.prefix+subject, 1, r.window).Err()
}

// Recent implements Tracker.
func (r *Redis) Recent(ctx context.Context, subject string) bool {
	if r.local.Recent(ctx, subject) {
		return true
	}
	n, err := r.client.Exists(ctx, r.prefix+subject).Result()
	return err != nil || n > 0
}
