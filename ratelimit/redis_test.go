package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const redisEnv = "SOVEREIGN_TEST_REDIS"

// newTestRedisClient connects to the server named by SOVEREIGN_TEST_REDIS,
// or skips the test when it is not set.
func newTestRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv(redisEnv)
	if url == "" {
		tb.Skip("SOVEREIGN_TEST_REDIS not set: skipping Redis rate limiter tests")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse %s=%q: %v", redisEnv, url, err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("ping Redis at %s: %v", url, err)
	}
	return client
}

// newTestPrefix returns a random key prefix and removes every key under it
// when the test ends.
func newTestPrefix(tb testing.TB, client *redis.Client) string {
	tb.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "sovereign-test:ratelimit:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scan test keys: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("delete test keys: %v", err)
			}
		}
	})
	return prefix
}

func newTestRedis(t *testing.T) (*Redis, *redis.Client, string) {
	t.Helper()
	client := newTestRedisClient(t)
	prefix := newTestPrefix(t, client)
	return NewRedis(client, prefix), client, prefix
}

// durationNear reports whether got is within slack below want (server time
// moves on between calls, so durations can only shrink).
func durationNear(got, want, slack time.Duration) bool {
	return got <= want && got >= want-slack
}

func TestRedis_DeniesAfterBurst_WithRetryAfterOfOneEmissionInterval(t *testing.T) {
	tests := []struct {
		name     string
		limit    Limit
		interval time.Duration
	}{
		{"1 per hour burst 1", Limit{Rate: 1, Period: time.Hour, Burst: 1}, time.Hour},
		{"60 per hour burst 5", Limit{Rate: 60, Period: time.Hour, Burst: 5}, time.Minute},
		{"3 per minute burst 10", Limit{Rate: 3, Period: time.Minute, Burst: 10}, 20 * time.Second},
	}
	const slack = 2 * time.Second // generous: wall time spent in the test
	client := newTestRedisClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := newTestPrefix(t, client)
			r := NewRedis(client, prefix)
			for i := range tt.limit.Burst {
				res := mustAllow(t, r, "k", tt.limit)
				if !res.Allowed {
					t.Fatalf("event %d of burst %d denied", i+1, tt.limit.Burst)
				}
				if want := tt.limit.Burst - 1 - i; res.Remaining != want {
					t.Errorf("event %d: Remaining = %d, want %d", i+1, res.Remaining, want)
				}
				if res.RetryAfter != 0 {
					t.Errorf("event %d: RetryAfter = %s, want 0", i+1, res.RetryAfter)
				}
				if want := time.Duration(i+1) * tt.interval; !durationNear(res.ResetAfter, want, slack) {
					t.Errorf("event %d: ResetAfter = %s, want about %s", i+1, res.ResetAfter, want)
				}
			}
			res := mustAllow(t, r, "k", tt.limit)
			if res.Allowed {
				t.Fatal("event after burst allowed, want denied")
			}
			if res.Remaining != 0 {
				t.Errorf("denied: Remaining = %d, want 0", res.Remaining)
			}
			if !durationNear(res.RetryAfter, tt.interval, slack) {
				t.Errorf("denied: RetryAfter = %s, want about %s", res.RetryAfter, tt.interval)
			}
			wantReset := time.Duration(tt.limit.Burst) * tt.interval
			if !durationNear(res.ResetAfter, wantReset, slack) {
				t.Errorf("denied: ResetAfter = %s, want about %s", res.ResetAfter, wantReset)
			}

			// The key expires when the bucket is full again.
			ttl, err := client.PTTL(context.Background(), prefix+"k").Result()
			if err != nil {
				t.Fatalf("PTTL: %v", err)
			}
			if !durationNear(ttl, wantReset+time.Millisecond, slack) {
				t.Errorf("key TTL = %s, want about %s", ttl, wantReset)
			}
		})
	}
}

func TestRedis_RefillsAfterRetryAfter(t *testing.T) {
	r, _, _ := newTestRedis(t)
	lim := Limit{Rate: 20, Period: time.Second, Burst: 2} // one event per 50ms
	for range lim.Burst {
		if !mustAllow(t, r, "k", lim).Allowed {
			t.Fatal("initial burst denied")
		}
	}
	res := mustAllow(t, r, "k", lim)
	if res.Allowed {
		t.Fatal("event after burst allowed")
	}
	if res.RetryAfter <= 0 || res.RetryAfter > 50*time.Millisecond {
		t.Fatalf("RetryAfter = %s, want in (0, 50ms]", res.RetryAfter)
	}
	time.Sleep(res.RetryAfter + 5*time.Millisecond)
	if res := mustAllow(t, r, "k", lim); !res.Allowed {
		t.Fatalf("denied after waiting RetryAfter: %+v", res)
	}
	time.Sleep(150 * time.Millisecond) // well past a full refill
	for i := range lim.Burst {
		if !mustAllow(t, r, "k", lim).Allowed {
			t.Fatalf("event %d denied after the bucket refilled", i+1)
		}
	}
}

func TestRedis_KeysAreIndependent(t *testing.T) {
	r, _, _ := newTestRedis(t)
	lim := Limit{Rate: 1, Period: time.Hour, Burst: 2}
	tests := []struct {
		name string
		keys []string
	}{
		{"two keys", []string{"alice", "bob"}},
		{"similar keys", []string{"user:1", "user:10", "user:1 ", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range lim.Burst + 1 {
				mustAllow(t, r, tt.name+tt.keys[0], lim)
			}
			for _, k := range tt.keys[1:] {
				for i := range lim.Burst {
					if !mustAllow(t, r, tt.name+k, lim).Allowed {
						t.Fatalf("key %q event %d denied after another key was exhausted", k, i+1)
					}
				}
				if mustAllow(t, r, tt.name+k, lim).Allowed {
					t.Fatalf("key %q allowed beyond its burst", k)
				}
			}
		})
	}
}

func TestRedis_RejectsInvalidLimits(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
	}{
		{"zero rate", Limit{Rate: 0, Period: time.Second, Burst: 1}},
		{"negative period", Limit{Rate: 1, Period: -time.Second, Burst: 1}},
		{"zero burst", Limit{Rate: 1, Period: time.Second, Burst: 0}},
		{"interval below 1µs", Limit{Rate: 2_000_000, Period: time.Second, Burst: 1}},
		{"tolerance too large", Limit{Rate: 1, Period: 1000 * 24 * time.Hour, Burst: 1 << 20}},
		// Valid for Memory (below 2^62ns) but above the Redis bound of 2^52µs.
		{"tolerance too large for Lua doubles", Limit{Rate: 1, Period: time.Hour, Burst: 1_260_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No server is needed: the limit is rejected before any call.
			r := NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "unused:")
			res, err := r.Allow(context.Background(), "k", tt.limit)
			if !errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("Allow with %+v: err = %v, want ErrInvalidLimit", tt.limit, err)
			}
			if res.Allowed {
				t.Fatal("Allow with invalid limit reported Allowed")
			}
		})
	}
}

func TestRedis_ReturnsErrorWhenRedisFails(t *testing.T) {
	tests := []struct {
		name  string
		redis func(t *testing.T) *Redis
		ctx   func() (context.Context, context.CancelFunc)
	}{
		{
			name: "unreachable server",
			redis: func(t *testing.T) *Redis {
				c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
				t.Cleanup(func() { _ = c.Close() })
				return NewRedis(c, "x:")
			},
			ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		},
		{
			name:  "nil client",
			redis: func(*testing.T) *Redis { return NewRedis(nil, "x:") },
			ctx:   func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		},
		{
			name:  "nil limiter",
			redis: func(*testing.T) *Redis { return nil },
			ctx:   func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			res, err := tt.redis(t).Allow(ctx, "k", Limit{Rate: 1, Period: time.Second, Burst: 1})
			if err == nil {
				t.Fatal("Allow returned nil error")
			}
			if errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("Allow returned ErrInvalidLimit for a store failure: %v", err)
			}
			if res.Allowed {
				t.Fatal("Allow reported Allowed together with an error")
			}
		})
	}
}

func TestRedis_CanceledContextIsReturned(t *testing.T) {
	r, _, _ := newTestRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Allow(ctx, "k", Limit{Rate: 1, Period: time.Second, Burst: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Allow with canceled context: err = %v, want context.Canceled", err)
	}
}

func TestRedis_TwoLimitersWithSeparateClients_ShareOneLimit(t *testing.T) {
	clientA := newTestRedisClient(t)
	clientB := newTestRedisClient(t) // a second connection pool, as on another replica
	prefix := newTestPrefix(t, clientA)
	a, b := NewRedis(clientA, prefix), NewRedis(clientB, prefix)
	lim := Limit{Rate: 1, Period: time.Hour, Burst: 6}

	limiters := []*Redis{a, b}
	allowed := 0
	for i := range 2 * lim.Burst {
		res := mustAllow(t, limiters[i%2], "shared", lim)
		if res.Allowed {
			allowed++
		}
		if want := i < lim.Burst; res.Allowed != want {
			t.Fatalf("event %d via limiter %d: Allowed = %v, want %v", i+1, i%2, res.Allowed, want)
		}
	}
	if allowed != lim.Burst {
		t.Fatalf("allowed %d events across two limiters, want %d", allowed, lim.Burst)
	}

	// A limiter with a different prefix does not share the limit.
	other := NewRedis(clientB, prefix+"other:")
	if !mustAllow(t, other, "shared", lim).Allowed {
		t.Fatal("limiter with a different prefix shares state")
	}
}

func TestRedis_ConcurrentCallersOnOneKey_ExactlyBurstSucceed(t *testing.T) {
	tests := []struct {
		name       string
		goroutines int
		perG       int
		burst      int
	}{
		{"burst 1", 32, 5, 1},
		{"burst 50", 50, 10, 50},
	}
	clientA := newTestRedisClient(t)
	clientB := newTestRedisClient(t) // a second pool, as on another replica
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := newTestPrefix(t, clientA)
			limiters := []*Redis{NewRedis(clientA, prefix), NewRedis(clientB, prefix)}
			// One event per hour: no refill can happen during the test.
			lim := Limit{Rate: 1, Period: time.Hour, Burst: tt.burst}

			var allowed, denied atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range tt.goroutines {
				wg.Go(func() {
					<-start
					for range tt.perG {
						res, err := limiters[g%2].Allow(context.Background(), "hot", lim)
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
			total := int64(tt.goroutines * tt.perG)
			if allowed.Load() != int64(tt.burst) {
				t.Fatalf("allowed %d of %d, want exactly %d", allowed.Load(), total, tt.burst)
			}
			if allowed.Load()+denied.Load() != total {
				t.Fatalf("allowed+denied = %d, want %d", allowed.Load()+denied.Load(), total)
			}
		})
	}
}

func BenchmarkRedis_Allow(b *testing.B) {
	client := newTestRedisClient(b)
	prefix := newTestPrefix(b, client)
	r := NewRedis(client, prefix)
	lim := Limit{Rate: 1_000_000, Period: time.Second, Burst: 1000}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		key := "caller-" + strconv.FormatUint(seq.Add(1), 10) // one key per goroutine
		for pb.Next() {
			if _, err := r.Allow(ctx, key, lim); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
