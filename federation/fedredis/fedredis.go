// Package fedredis keeps cached federated answers in Redis, so that the replicas of a
// registry share them and an invalidation reaches every replica at once.
package fedredis

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sovereign-stack/sovereign/federation"
)

// Store is a federation.CacheStore in Redis: each answer under prefix+key with its TTL, the
// generation under prefix+"gen". A read is one round trip (MGET of both).
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ federation.CacheStore = (*Store)(nil)

// New returns a store in rdb under prefix (e.g. "sovereign:fedcache:<trust domain>:").
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

// Get implements federation.CacheStore.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	vals, err := s.rdb.MGet(ctx, s.prefix+"gen", s.prefix+key).Result()
	if err != nil {
		return nil, 0, err
	}
	var gen uint64
	if g, ok := vals[0].(string); ok {
		if gen, err = strconv.ParseUint(g, 10, 64); err != nil {
			return nil, 0, errors.New("fedredis: generation is not a number")
		}
	}
	v, ok := vals[1].(string)
	if !ok {
		return nil, gen, nil
	}
	return []byte(v), gen, nil
}

// Set implements federation.CacheStore.
func (s *Store) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.prefix+key, val, ttl).Err()
}

// Bump implements federation.CacheStore. The stale answers expire on their own TTL.
func (s *Store) Bump(ctx context.Context) error {
	return s.rdb.Incr(ctx, s.prefix+"gen").Err()
}
