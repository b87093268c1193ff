package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxRedisTolerance bounds Burst × emission interval in microseconds so
// that the script's arithmetic, done in Lua doubles, stays exact: current
// Unix time in microseconds (~1.8e15) plus this bound remains below 2^53.
const maxRedisTolerance = int64(1) << 52

// gcraScript performs one GCRA step atomically. Times are integers in
// microseconds, taken from the server's TIME so that every client agrees on
// the clock regardless of its own skew.
//
// KEYS[1]: the key holding the TAT (Unix microseconds).
// ARGV[1]: emission interval in microseconds.
// ARGV[2]: burst.
// ARGV[3]: 1 to record an allowed event (Allow), 0 to only answer (Peek).
//
// Returns {allowed (0|1), remaining, retry_after_us, reset_after_us}.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  local remaining = math.floor((tolerance - (tat - now)) / interval)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, allow_at - now, tat - now}
end
local remaining = math.floor((tolerance - (new_tat - now)) / interval)
if remaining < 0 then remaining = 0 end
if ARGV[3] ~= '1' then
  return {1, remaining, 0, new_tat - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
if ttl_ms < 1 then ttl_ms = 1 end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl_ms))
return {1, remaining, 0, new_tat - now}
`)

var errRedisNoClient = errors.New("ratelimit: Redis limiter has no client; use NewRedis with a non-nil client")

// Redis is a GCRA Limiter whose state lives in Redis, so that every server
// replica using the same Redis and prefix shares the same limits. It is
// safe for concurrent use.
//
// Each Allow runs one Lua script (EVALSHA, falling back to EVAL when the
// script is not cached) that reads the key's theoretical arrival time,
// decides, and records the event atomically, using the Redis server's TIME
// rather than the caller's clock so that replicas with skewed clocks agree.
// Keys are stored as prefix+key with a TTL equal to the time until the
// bucket is full again, so idle keys expire on their own. Each call touches
// a single key, so Redis Cluster is supported.
//
// Times are handled at microsecond resolution in Redis: limits whose
// emission interval (Period/Rate) is below one microsecond are rejected with
// ErrInvalidLimit.
//
// Errors from Redis (including context cancellation) are returned to the
// caller unchanged apart from wrapping, together with a Result whose Allowed
// is false. Redis does not fail open or closed on its own: the caller
// decides whether to admit the request when Allow returns an error.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter that stores state in client under keys
// prefix+key. Limiters created with the same Redis server and prefix share
// limits.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Allow reports whether one more event for key is allowed under l and
// records it if so, atomically in Redis. It returns an error wrapping
// ErrInvalidLimit when l is invalid, and a wrapped Redis or context error
// when the script cannot be run; in that case the caller chooses whether to
// fail open or closed.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return r.step(ctx, key, l, true)
}

// Peek reports what Allow would answer for key under l now, recording nothing; its errors are
// those of Allow.
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	return r.step(ctx, key, l, false)
}

// step runs one GCRA decision for key in Redis, recorded when record is set and allowed.
func (r *Redis) step(ctx context.Context, key string, l Limit, record bool) (Result, error) {
	if r == nil || r.client == nil {
		return Result{Limit: l}, errRedisNoClient
	}
	interval, _, err := l.params()
	if err != nil {
		return Result{Limit: l}, err
	}
	intervalUS := interval / int64(time.Microsecond)
	if intervalUS <= 0 {
		return Result{Limit: l}, fmt.Errorf("%w: period/rate (%s/%d) is below the Redis limiter's 1µs resolution", ErrInvalidLimit, l.Period, l.Rate)
	}
	if int64(l.Burst) > maxRedisTolerance/intervalUS {
		return Result{Limit: l}, fmt.Errorf("%w: burst × period/rate is too large for the Redis limiter (%s)", ErrInvalidLimit, l)
	}

	vals, err := gcraScript.Run(ctx, r.client, []string{r.prefix + key}, intervalUS, l.Burst, recordArg(record)).Int64Slice()
	if err != nil {
		return Result{Limit: l}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(vals) != 4 {
		return Result{Limit: l}, fmt.Errorf("ratelimit: redis: unexpected script reply with %d elements", len(vals))
	}
	return Result{
		Allowed:    vals[0] == 1,
		Limit:      l,
		Remaining:  remaining(vals[1], 1),
		RetryAfter: time.Duration(max(vals[2], 0)) * time.Microsecond,
		ResetAfter: time.Duration(max(vals[3], 0)) * time.Microsecond,
	}, nil
}

// recordArg is the script's ARGV[3] for record.
func recordArg(record bool) int {
	if record {
		return 1
	}
	return 0
}
