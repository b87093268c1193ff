package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestMemory(t *testing.T) (*Memory, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	return NewMemory(WithClock(clk.Now)), clk
}

func mustAllow(t *testing.T, l Limiter, key string, lim Limit) Result {
	t.Helper()
	res, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q, %s): unexpected error: %v", key, lim, err)
	}
	if res.Limit != lim {
		t.Fatalf("Allow(%q, %s): Result.Limit = %+v, want %+v", key, lim, res.Limit, lim)
	}
	return res
}

func TestMemory_DeniesAfterBurst_ThenAllowsAfterEmissionInterval(t *testing.T) {
	tests := []struct {
		name     string
		limit    Limit
		interval time.Duration // Period / Rate
	}{
		{"10 per second burst 5", Limit{Rate: 10, Period: time.Second, Burst: 5}, 100 * time.Millisecond},
		{"1 per minute burst 1", Limit{Rate: 1, Period: time.Minute, Burst: 1}, time.Minute},
		{"100 per hour burst 20", Limit{Rate: 100, Period: time.Hour, Burst: 20}, 36 * time.Second},
		{"3 per second burst 3 (inexact interval)", Limit{Rate: 3, Period: time.Second, Burst: 3}, 333333333 * time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, clk := newTestMemory(t)
			for i := range tt.limit.Burst {
				res := mustAllow(t, m, "k", tt.limit)
				if !res.Allowed {
					t.Fatalf("event %d of burst %d denied", i+1, tt.limit.Burst)
				}
				if want := tt.limit.Burst - 1 - i; res.Remaining != want {
					t.Errorf("event %d: Remaining = %d, want %d", i+1, res.Remaining, want)
				}
				if res.RetryAfter != 0 {
					t.Errorf("event %d: RetryAfter = %s, want 0 when allowed", i+1, res.RetryAfter)
				}
				if want := time.Duration(i+1) * tt.interval; res.ResetAfter != want {
					t.Errorf("event %d: ResetAfter = %s, want %s", i+1, res.ResetAfter, want)
				}
			}

			res := mustAllow(t, m, "k", tt.limit)
			if res.Allowed {
				t.Fatalf("event after burst allowed, want denied")
			}
			if res.Remaining != 0 {
				t.Errorf("denied: Remaining = %d, want 0", res.Remaining)
			}
			if res.RetryAfter != tt.interval {
				t.Errorf("denied: RetryAfter = %s, want %s", res.RetryAfter, tt.interval)
			}
			if want := time.Duration(tt.limit.Burst) * tt.interval; res.ResetAfter != want {
				t.Errorf("denied: ResetAfter = %s, want %s", res.ResetAfter, want)
			}

			// Just before RetryAfter elapses: still denied, and the denial
			// was not recorded (RetryAfter shrinks with time).
			clk.Advance(res.RetryAfter - time.Nanosecond)
			res2 := mustAllow(t, m, "k", tt.limit)
			if res2.Allowed {
				t.Fatalf("allowed 1ns before RetryAfter elapsed")
			}
			if res2.RetryAfter != time.Nanosecond {
				t.Errorf("RetryAfter 1ns early = %s, want 1ns", res2.RetryAfter)
			}

			clk.Advance(time.Nanosecond)
			if res := mustAllow(t, m, "k", tt.limit); !res.Allowed {
				t.Fatalf("denied once RetryAfter elapsed: %+v", res)
			}
			if res := mustAllow(t, m, "k", tt.limit); res.Allowed {
				t.Fatalf("second event after one emission interval allowed, want denied")
			}
		})
	}
}

func TestMemory_RefillsOverTime(t *testing.T) {
	lim := Limit{Rate: 10, Period: time.Second, Burst: 5} // one event per 100ms
	tests := []struct {
		name        string
		advance     time.Duration
		wantAllowed int
	}{
		{"no time passes", 0, 0},
		{"half an interval", 50 * time.Millisecond, 0},
		{"one interval", 100 * time.Millisecond, 1},
		{"two and a half intervals", 250 * time.Millisecond, 2},
		{"exactly a full bucket", 500 * time.Millisecond, 5},
		{"long idle never exceeds burst", time.Hour, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, clk := newTestMemory(t)
			for range lim.Burst {
				if !mustAllow(t, m, "k", lim).Allowed {
					t.Fatal("initial burst denied")
				}
			}
			clk.Advance(tt.advance)
			got := 0
			for range lim.Burst + 2 {
				if mustAllow(t, m, "k", lim).Allowed {
					got++
				}
			}
			if got != tt.wantAllowed {
				t.Fatalf("after %s allowed %d events, want %d", tt.advance, got, tt.wantAllowed)
			}
		})
	}
}

func TestMemory_SustainsRateOverLongRun(t *testing.T) {
	lim := Limit{Rate: 10, Period: time.Second, Burst: 3}
	m, clk := newTestMemory(t)
	allowed := 0
	// Offer 100 events per second for 10 seconds; expect Burst + 10/s × 10s.
	for range 1000 {
		if mustAllow(t, m, "k", lim).Allowed {
			allowed++
		}
		clk.Advance(10 * time.Millisecond)
	}
	if want := lim.Burst + 100; allowed < want-1 || allowed > want {
		t.Fatalf("allowed %d events in 10s, want about %d", allowed, want)
	}
}

func TestMemory_KeysAreIndependent(t *testing.T) {
	lim := Limit{Rate: 1, Period: time.Minute, Burst: 2}
	tests := []struct {
		name string
		keys []string
	}{
		{"two keys", []string{"alice", "bob"}},
		{"similar keys", []string{"user:1", "user:10", "user:1 ", ""}},
		{"many keys", func() []string {
			ks := make([]string, 500)
			for i := range ks {
				ks[i] = fmt.Sprintf("key-%d", i)
			}
			return ks
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestMemory(t)
			// Exhaust the first key; all others must keep their full burst.
			for range lim.Burst + 1 {
				mustAllow(t, m, tt.keys[0], lim)
			}
			for _, k := range tt.keys[1:] {
				for i := range lim.Burst {
					if !mustAllow(t, m, k, lim).Allowed {
						t.Fatalf("key %q event %d denied after another key was exhausted", k, i+1)
					}
				}
				if mustAllow(t, m, k, lim).Allowed {
					t.Fatalf("key %q allowed beyond its burst", k)
				}
			}
		})
	}
}

func TestMemory_RejectsInvalidLimits(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
	}{
		{"zero rate", Limit{Rate: 0, Period: time.Second, Burst: 1}},
		{"negative period", Limit{Rate: 1, Period: -time.Second, Burst: 1}},
		{"zero burst", Limit{Rate: 1, Period: time.Second, Burst: 0}},
		{"zero value", Limit{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestMemory(t)
			res, err := m.Allow(context.Background(), "k", tt.limit)
			if !errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("Allow with %+v: err = %v, want ErrInvalidLimit", tt.limit, err)
			}
			if res.Allowed {
				t.Fatalf("Allow with invalid limit reported Allowed")
			}
			if n := m.Len(); n != 0 {
				t.Fatalf("invalid limit stored state: Len = %d", n)
			}
		})
	}
}

func TestMemory_ZeroValueReturnsErrorInsteadOfPanicking(t *testing.T) {
	tests := []struct {
		name string
		m    *Memory
	}{
		{"nil pointer", nil},
		{"zero value", &Memory{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.m.Allow(context.Background(), "k", Limit{Rate: 1, Period: time.Second, Burst: 1}); err == nil {
				t.Fatal("Allow on uninitialised Memory returned nil error")
			}
			tt.m.Sweep()
			if n := tt.m.Len(); n != 0 {
				t.Fatalf("Len = %d, want 0", n)
			}
		})
	}
}

func TestMemory_EvictsIdleKeys(t *testing.T) {
	lim := Limit{Rate: 10, Period: time.Second, Burst: 5} // full again 500ms after one event

	t.Run("explicit sweep removes only idle keys", func(t *testing.T) {
		m, clk := newTestMemory(t)
		for i := range 1000 {
			mustAllow(t, m, fmt.Sprintf("old-%d", i), lim)
		}
		clk.Advance(time.Second)
		for i := range 10 {
			mustAllow(t, m, fmt.Sprintf("new-%d", i), lim)
		}
		m.Sweep()
		if n := m.Len(); n != 10 {
			t.Fatalf("after Sweep Len = %d, want 10 (only the active keys)", n)
		}
		// An active key keeps its state across a sweep.
		for range lim.Burst - 1 {
			mustAllow(t, m, "new-0", lim)
		}
		if mustAllow(t, m, "new-0", lim).Allowed {
			t.Fatal("active key lost its state during Sweep")
		}
	})

	t.Run("opportunistic sweeping bounds memory under churn", func(t *testing.T) {
		m, clk := newTestMemory(t)
		const rounds, perRound = 100, 1000
		maxLen := 0
		for r := range rounds {
			for i := range perRound {
				mustAllow(t, m, fmt.Sprintf("r%d-k%d", r, i), lim)
			}
			maxLen = max(maxLen, m.Len())
			clk.Advance(time.Second) // every key so far is idle now
		}
		// Without eviction Len would reach rounds×perRound = 100000.
		// Each shard sweeps at least once per max(len, 64) calls, so it
		// holds at most about twice the live keys plus the minimum.
		if limit := 3*perRound + 2*numShards*minSweepOps; maxLen > limit {
			t.Fatalf("Len peaked at %d, want <= %d", maxLen, limit)
		}
	})

	t.Run("evicted key behaves like a new key", func(t *testing.T) {
		m, clk := newTestMemory(t)
		for range lim.Burst {
			mustAllow(t, m, "k", lim)
		}
		clk.Advance(500 * time.Millisecond) // exactly full again
		m.Sweep()
		if n := m.Len(); n != 0 {
			t.Fatalf("Len = %d, want 0 after the bucket refilled", n)
		}
		res := mustAllow(t, m, "k", lim)
		if !res.Allowed || res.Remaining != lim.Burst-1 {
			t.Fatalf("after eviction got %+v, want allowed with Remaining %d", res, lim.Burst-1)
		}
	})
}

func TestMemory_ConcurrentCallersOnOneKey_ExactlyBurstSucceedWithinAnInstant(t *testing.T) {
	tests := []struct {
		name       string
		goroutines int
		perG       int
		burst      int
	}{
		{"burst 1", 64, 10, 1},
		{"burst 100", 200, 10, 100},
		{"burst larger than demand", 10, 10, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock() // never advanced: every call is at the same instant
			m := NewMemory(WithClock(clk.Now))
			lim := Limit{Rate: 1, Period: time.Second, Burst: tt.burst}
			var allowed, denied atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range tt.goroutines {
				wg.Go(func() {
					<-start
					for range tt.perG {
						res, err := m.Allow(context.Background(), "hot", lim)
						if err != nil {
							t.Error(err)
							return
						}
						if res.Allowed {
							allowed.Add(1)
						} else {
							denied.Add(1)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			total := tt.goroutines * tt.perG
			if want := min(tt.burst, total); allowed.Load() != int64(want) {
				t.Fatalf("allowed %d of %d, want exactly %d", allowed.Load(), total, want)
			}
			if allowed.Load()+denied.Load() != int64(total) {
				t.Fatalf("allowed+denied = %d, want %d", allowed.Load()+denied.Load(), total)
			}
		})
	}
}

func TestMemory_ConcurrentCallersOnManyKeys_WhileClockAdvances(t *testing.T) {
	// Exercises sharding and opportunistic sweeping under -race.
	clk := newFakeClock()
	m := NewMemory(WithClock(clk.Now))
	lim := Limit{Rate: 100, Period: time.Second, Burst: 3}
	const goroutines, keys = 32, 50
	var wg sync.WaitGroup
	var perKey [keys]atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			for i := range 2000 {
				k := (g + i) % keys
				res, err := m.Allow(context.Background(), fmt.Sprintf("k%d", k), lim)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					perKey[k].Add(1)
				}
				if i%100 == 0 && g == 0 {
					clk.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	// The clock advanced at most 20ms: each key may have had its burst
	// plus at most 2 refills (one per 10ms).
	for k := range perKey {
		if n := perKey[k].Load(); n < int64(lim.Burst) || n > int64(lim.Burst+2) {
			t.Errorf("key %d: allowed %d, want between %d and %d", k, n, lim.Burst, lim.Burst+2)
		}
	}
}

func TestMemory_UsesRealClockByDefault(t *testing.T) {
	m := NewMemory()
	lim := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	if !mustAllow(t, m, "k", lim).Allowed {
		t.Fatal("first event denied")
	}
	res := mustAllow(t, m, "k", lim)
	if res.Allowed {
		t.Fatal("second event allowed")
	}
	if res.RetryAfter <= 59*time.Minute || res.RetryAfter > time.Hour {
		t.Fatalf("RetryAfter = %s, want just under 1h", res.RetryAfter)
	}
}

func BenchmarkMemory_Allow(b *testing.B) {
	lim := Limit{Rate: 1_000_000, Period: time.Second, Burst: 1000}
	b.Run("one key", func(b *testing.B) {
		m := NewMemory()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if _, err := m.Allow(ctx, "hot", lim); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("10k keys", func(b *testing.B) {
		m := NewMemory()
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = fmt.Sprintf("caller-%d", i)
		}
		var seq atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			i := int(seq.Add(7919)) // spread goroutines across the key space
			for pb.Next() {
				i++
				if _, err := m.Allow(ctx, keys[i%len(keys)], lim); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
