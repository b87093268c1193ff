package hotcache

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Codec turns values into bytes for Redis and back.
type Codec[V any] struct {
	Marshal   func(V) ([]byte, error)
	Unmarshal func([]byte) (V, error)
}

// Redis is a Cache in Redis, shared by every process that uses the same prefix: each entry a
// string under prefix+key, "<version>|v<encoded value>" or, for a marker, "<version>|x", with
// the TTL. Set and Invalidate are Lua scripts (compare and set in one step); Get is one MGET.
type Redis[V any] struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	codec  Codec[V]
}

var _ Cache[int] = (*Redis[int])(nil)

// NewRedis returns a cache in rdb under prefix (e.g. "sovereign:hot:card:"), each entry kept for
// ttl (DefaultTTL when 0).
func NewRedis[V any](rdb redis.UniversalClient, prefix string, ttl time.Duration, codec Codec[V]) *Redis[V] {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Redis[V]{rdb: rdb, prefix: prefix, ttl: ttl, codec: codec}
}

// The scripts compare versions as Lua numbers (exact below 2^53) and never format them: a
// version is written back as the string it came as.
const luaHead = `
local s = redis.call('GET', KEYS[1])
local v = tonumber(ARGV[1])
local cv, cval, cvs = nil, false, nil
if s then
  local i = string.find(s, '|', 1, true)
  if i then
    cvs = string.sub(s, 1, i - 1)
    cv = tonumber(cvs)
    cval = string.sub(s, i + 1, i + 1) == 'v'
  end
end
`

var setScript = redis.NewScript(luaHead + `
if cv and (cv > v or (cv == v and cval)) then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. '|v' .. ARGV[2], 'PX', ARGV[3])
return 1
`)

var invalidateScript = redis.NewScript(luaHead + `
if cv and cval and cv >= v then return 0 end
local vs = ARGV[1]
if cv and cv > v then vs = cvs end
redis.call('SET', KEYS[1], vs .. '|x', 'PX', ARGV[2])
return 1
`)

// Get implements Cache. An entry that does not decode is a miss.
func (r *Redis[V]) Get(ctx context.Context, keys ...string) ([]Entry[V], error) {
	if len(keys) == 0 {
		return nil, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	vals, err := r.rdb.MGet(ctx, full...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Entry[V], len(keys))
	for i, raw := range vals {
		s, ok := raw.(string)
		if !ok {
			continue
		}
		b := []byte(s)
		bar := bytes.IndexByte(b, '|')
		if bar < 0 || bar+1 >= len(b) || b[bar+1] != 'v' {
			continue
		}
		ver, err := strconv.ParseInt(string(b[:bar]), 10, 64)
		if err != nil {
			continue
		}
		v, err := r.codec.Unmarshal(b[bar+2:])
		if err != nil {
			continue
		}
		out[i] = Entry[V]{Val: v, Version: ver, OK: true}
	}
	return out, nil
}

// Set implements Cache.
func (r *Redis[V]) Set(ctx context.Context, key string, version int64, val V) error {
	b, err := r.codec.Marshal(val)
	if err != nil {
		return err
	}
	if version < 0 {
		return errors.New("hotcache: negative version")
	}
	return setScript.Run(ctx, r.rdb, []string{r.prefix + key}, strconv.FormatInt(version, 10), b, r.ttl.Milliseconds()).Err()
}

// Invalidate implements Cache.
func (r *Redis[V]) Invalidate(ctx context.Context, key string, version int64) error {
	if version < 0 {
		return errors.New("hotcache: negative version")
	}
	return invalidateScript.Run(ctx, r.rdb, []string{r.prefix + key}, strconv.FormatInt(version, 10), r.ttl.Milliseconds()).Err()
}
