package credential

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingKDF stands in for argon2id: it records how many calls run at once and holds each for
// hold.
type countingKDF struct {
	hold      time.Duration
	now, peak atomic.Int64
}

func (c *countingKDF) kdf(password, salt []byte, p PasswordParams, n uint32) []byte {
	cur := c.now.Add(1)
	for {
		old := c.peak.Load()
		if cur <= old || c.peak.CompareAndSwap(old, cur) {
			break
		}
	}
	time.Sleep(c.hold)
	c.now.Add(-1)
	return idKey(password, salt, PasswordParams{MemoryKiB: 8, Time: 1, Threads: 1}, n)
}

// TestHasher_NeverRunsMoreThanTheMemoryBudget hashes and verifies from 40 goroutines with room
// for 3 at once: never more than 3 run, and the ones that cannot wait long enough get ErrBusy.
func TestHasher_NeverRunsMoreThanTheMemoryBudget(t *testing.T) {
	p := PasswordParams{MemoryKiB: 19 * 1024, Time: 1, Threads: 1}
	h := NewHasher(p, HashLimits{MaxMemoryKiB: 3*19*1024 + 100, MaxConcurrent: 100, MaxWaiting: 8, MaxWait: 50 * time.Millisecond})
	c := &countingKDF{hold: 20 * time.Millisecond}
	h.kdf = c.kdf
	hash, err := h.Hash(context.Background(), "a password of some length")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok, busy atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = h.Hash(context.Background(), "another password here")
			} else {
				var match bool
				match, err = h.Verify(context.Background(), "a password of some length", hash)
				if err == nil && !match {
					t.Error("right password rejected")
				}
			}
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := c.peak.Load(); got > 3 {
		t.Fatalf("%d argon2id calls ran at once, budget is 3", got)
	}
	if ok.Load() < 3 || busy.Load() == 0 {
		t.Fatalf("ok %d, busy %d: want some of each", ok.Load(), busy.Load())
	}
	st := h.Stats()
	if st.InFlight != 0 || st.Waiting != 0 || st.Rejected != uint64(busy.Load()) {
		t.Fatalf("stats after the burst = %+v (busy %d)", st, busy.Load())
	}
}

// TestHasher_NoMoreHashesThanMaxConcurrent: the memory budget narrows to MaxConcurrent hashes.
func TestHasher_NoMoreHashesThanMaxConcurrent(t *testing.T) {
	h := NewHasher(PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}, HashLimits{MaxMemoryKiB: 1 << 20, MaxConcurrent: 2, MaxWaiting: 100, MaxWait: 5 * time.Second})
	c := &countingKDF{hold: 10 * time.Millisecond}
	h.kdf = c.kdf
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "a password of some length"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := c.peak.Load(); got != 2 {
		t.Fatalf("%d hashes ran at once, want 2", got)
	}
}

// TestHasher_OversizedHashRunsAlone: a hash whose memory exceeds the budget still runs (alone),
// and an unparsable hash costs no slot.
func TestHasher_OversizedHashRunsAlone(t *testing.T) {
	h := NewHasher(PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}, HashLimits{MaxMemoryKiB: 16, MaxWaiting: 0, MaxWait: time.Millisecond})
	hash, err := h.Hash(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), "correct horse battery", hash); err != nil || !ok {
		t.Fatalf("verify = %v, %v", ok, err)
	}
	if ok, err := h.Verify(context.Background(), "x", UnusablePasswordHash); err != nil || ok {
		t.Fatalf("unusable hash: %v, %v", ok, err)
	}
}

// TestHasher_CancelledContextIsNotBusy: a caller that gave up gets its context's error, not
// ErrBusy, and is not counted as rejected.
func TestHasher_CancelledContextIsNotBusy(t *testing.T) {
	h := NewHasher(PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}, HashLimits{MaxMemoryKiB: 64, MaxWaiting: 4, MaxWait: time.Second})
	release, err := h.acquire(context.Background(), 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "password password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	release()
	if st := h.Stats(); st.Rejected != 0 || st.Waiting != 0 {
		t.Fatalf("stats = %+v", st)
	}
}
