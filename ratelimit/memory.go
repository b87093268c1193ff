package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// numShards is the number of independently locked maps in a Memory.
	numShards = 64
	// minSweepOps is the minimum number of Allow calls on a shard between
	// two opportunistic sweeps of that shard.
	minSweepOps = 64
)

var errMemoryNotInitialised = errors.New("ratelimit: Memory not initialised; use NewMemory")

// Memory is an in-process GCRA Limiter. It is safe for concurrent use.
//
// State is split across 64 shards, each guarded by its own mutex and chosen
// by a hash of the key, so that callers with different keys rarely contend.
// Only the theoretical arrival time (TAT) of each key is stored. Entries
// whose TAT has passed describe a full bucket and carry no information, so
// they are evicted: each shard is swept opportunistically during Allow once
// it has seen at least as many calls as it held entries after its previous
// sweep, which keeps the amortised cost per call constant and the number of
// entries proportional to the number of recently active keys. Memory starts
// no goroutines and needs no Close.
//
// The zero value is not usable; create one with NewMemory.
type Memory struct {
	clock  func() time.Time
	base   time.Time
	seed   maphash.Seed
	shards *[numShards]memShard
}

type memShard struct {
	mu sync.Mutex
	// tat maps key to its theoretical arrival time in nanoseconds since
	// Memory.base.
	tat map[string]int64
	// ops counts Allow calls since the last sweep; sweepAt is the count
	// that triggers the next sweep.
	ops     int
	sweepAt int
	_       [32]byte // reduce false sharing between adjacent shards
}

// MemoryOption configures a Memory created by NewMemory.
type MemoryOption func(*Memory)

// WithClock makes the Memory read the current time from now instead of
// time.Now. It is intended for tests. A nil now is ignored.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now != nil {
			m.clock = now
		}
	}
}

// NewMemory returns an empty in-process limiter configured by opts.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		clock:  time.Now,
		seed:   maphash.MakeSeed(),
		shards: new([numShards]memShard),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(m)
		}
	}
	m.base = m.clock()
	for i := range m.shards {
		m.shards[i].tat = make(map[string]int64)
		m.shards[i].sweepAt = minSweepOps
	}
	return m
}

var _ Limiter = (*Memory)(nil)

// now returns the current time in nanoseconds since m.base. When both come
// from time.Now the monotonic clock is used, so wall-clock jumps do not
// affect limits.
func (m *Memory) now() int64 {
	return int64(m.clock().Sub(m.base))
}

// Allow reports whether one more event for key is allowed under l and
// records it if so. It never blocks on I/O; ctx is accepted to satisfy
// Limiter and is otherwise unused. It returns an error wrapping
// ErrInvalidLimit when l is invalid.
func (m *Memory) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return m.step(key, l, true)
}

// Peek reports what Allow would answer for key under l now, recording nothing. It returns an
// error wrapping ErrInvalidLimit when l is invalid.
func (m *Memory) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return m.step(key, l, false)
}

// step is one GCRA decision for key, recorded when record is set and the event is allowed.
func (m *Memory) step(key string, l Limit, record bool) (Result, error) {
	if m == nil || m.shards == nil {
		return Result{Limit: l}, errMemoryNotInitialised
	}
	interval, tolerance, err := l.params()
	if err != nil {
		return Result{Limit: l}, err
	}
	s := &m.shards[maphash.String(m.seed, key)%numShards]

	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now()
	tat, ok := s.tat[key]
	if !ok {
		tat = now
	}
	res, newTAT := gcra(now, tat, interval, tolerance, l)
	if res.Allowed && record {
		s.tat[key] = newTAT
	}
	s.ops++
	if s.ops >= s.sweepAt {
		s.sweep(now)
	}
	return res, nil
}

// sweep deletes entries whose TAT is not after now and schedules the next
// sweep. The caller must hold s.mu.
func (s *memShard) sweep(now int64) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	s.ops = 0
	s.sweepAt = max(len(s.tat), minSweepOps)
}

// Sweep immediately evicts every idle key, that is every key whose bucket
// is full again. Calling it is optional: Allow sweeps opportunistically.
// It is useful after a traffic spike when no further calls are expected.
func (m *Memory) Sweep() {
	if m == nil || m.shards == nil {
		return
	}
	now := m.now()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		s.sweep(now)
		s.mu.Unlock()
	}
}

// Len returns the number of keys currently tracked, including idle keys
// that have not been evicted yet. It is intended for metrics and tests.
func (m *Memory) Len() int {
	if m == nil || m.shards == nil {
		return 0
	}
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}
