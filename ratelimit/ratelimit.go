// Package ratelimit provides per-caller rate limiting for the HTTP layer.
//
// Limits are enforced with the Generic Cell Rate Algorithm (GCRA), which is
// equivalent to a token bucket that refills continuously: a Limit of Rate
// events per Period admits one event every Period/Rate (the emission
// interval) on average, and up to Burst events at once when the caller has
// been idle long enough for the bucket to be full. GCRA needs only one
// timestamp per key, the theoretical arrival time (TAT) of the next event.
//
// Two implementations are provided: Memory, which keeps state in the process,
// and Redis, which keeps state in a Redis server so that several replicas of
// the server share the same limits.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidLimit is returned (wrapped) when a Limit cannot be enforced, for
// example because Rate, Period or Burst is not positive. Test for it with
// errors.Is.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// maxTolerance bounds Burst × emission interval so that time arithmetic
// cannot overflow int64 nanoseconds.
const maxTolerance = int64(1) << 62

// Limit describes a rate: Rate events per Period on average, allowing bursts
// of up to Burst events at once (GCRA semantics).
type Limit struct {
	// Rate is the number of events allowed per Period. Must be positive.
	Rate int
	// Period is the window Rate is measured over. Must be positive.
	Period time.Duration
	// Burst is the maximum number of events allowed at once. Must be positive.
	Burst int
}

// Validate reports whether l can be enforced. It returns an error wrapping
// ErrInvalidLimit when Rate, Period or Burst is not positive, when
// Period/Rate is shorter than one nanosecond, or when Burst × Period/Rate is
// too large to represent.
func (l Limit) Validate() error {
	_, _, err := l.params()
	return err
}

// String returns a human-readable form of l such as "10/1s burst 20".
func (l Limit) String() string {
	return fmt.Sprintf("%d/%s burst %d", l.Rate, l.Period, l.Burst)
}

// params validates l and returns the emission interval and the tolerance
// (Burst × emission interval), both in nanoseconds.
func (l Limit) params() (interval, tolerance int64, err error) {
	switch {
	case l.Rate <= 0:
		return 0, 0, fmt.Errorf("%w: rate must be positive, got %d", ErrInvalidLimit, l.Rate)
	case l.Period <= 0:
		return 0, 0, fmt.Errorf("%w: period must be positive, got %s", ErrInvalidLimit, l.Period)
	case l.Burst <= 0:
		return 0, 0, fmt.Errorf("%w: burst must be positive, got %d", ErrInvalidLimit, l.Burst)
	}
	interval = int64(l.Period) / int64(l.Rate)
	if interval <= 0 {
		return 0, 0, fmt.Errorf("%w: period/rate (%s/%d) is below 1ns", ErrInvalidLimit, l.Period, l.Rate)
	}
	if int64(l.Burst) > maxTolerance/interval {
		return 0, 0, fmt.Errorf("%w: burst × period/rate is too large (%s)", ErrInvalidLimit, l)
	}
	return interval, interval * int64(l.Burst), nil
}

// Result is the outcome of one Limiter.Allow call.
type Result struct {
	// Allowed reports whether the event is allowed (and was recorded).
	Allowed bool
	// Limit is the limit the decision was made under.
	Limit Limit
	// Remaining is how many more events would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the event would be allowed; it
	// is 0 when Allowed is true.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again, i.e. until
	// Burst events would be allowed at once.
	ResetAfter time.Duration
}

// Limiter decides whether one more event for a key is allowed under a Limit,
// and records the event when it is allowed. Denied events are not recorded.
type Limiter interface {
	// Allow reports whether one more event for key is allowed under l. It
	// returns an error wrapping ErrInvalidLimit when l is invalid, and may
	// return other errors from the backing store.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek reports what Allow would answer for key under l now, without recording an event:
	// for limits that count only some outcomes (failed authentications), checked before the
	// outcome is known. Its errors are those of Allow.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
}

// gcra applies one GCRA step. now and tat are in nanoseconds on the same
// time base; a tat before now means the bucket is full. It returns the
// result and the TAT to store (only meaningful when allowed).
func gcra(now, tat, interval, tolerance int64, l Limit) (Result, int64) {
	if tat < now {
		tat = now
	}
	newTAT := tat + interval
	allowAt := newTAT - tolerance
	if now < allowAt {
		return Result{
			Allowed:    false,
			Limit:      l,
			Remaining:  remaining(tolerance-(tat-now), interval),
			RetryAfter: time.Duration(allowAt - now),
			ResetAfter: time.Duration(tat - now),
		}, tat
	}
	return Result{
		Allowed:    true,
		Limit:      l,
		Remaining:  remaining(tolerance-(newTAT-now), interval),
		RetryAfter: 0,
		ResetAfter: time.Duration(newTAT - now),
	}, newTAT
}

// remaining converts slack time into a whole number of events, clamped to
// [0, MaxInt].
func remaining(slack, interval int64) int {
	if slack <= 0 || interval <= 0 {
		return 0
	}
	n := slack / interval
	if n > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}
