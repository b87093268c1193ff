// Package redistest gives tests the Redis that SOVEREIGN_TEST_REDIS names (a test without it is
// skipped, saying what it would have tested) and key prefixes of their own, removed when the
// test ends: the Redis outlives the tests and is shared by them.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL is SOVEREIGN_TEST_REDIS (redis://host:port/db); without it t is skipped with a line
// naming what, the thing the test would have tested in Redis.
func URL(t testing.TB, what string) string {
	t.Helper()
	url := os.Getenv("SOVEREIGN_TEST_REDIS")
	if url == "" {
		t.Skip("SOVEREIGN_TEST_REDIS not set: skipping " + what)
	}
	return url
}

// Client is a client of URL(t, what), answering PING, closed when the test ends.
func Client(t testing.TB, what string) *redis.Client {
	t.Helper()
	url := URL(t, what)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("SOVEREIGN_TEST_REDIS: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping Redis at %s: %v", url, err)
	}
	return c
}

// Prefix is a fresh key prefix, base followed by random hex and a colon; the keys under it are
// deleted (through c) when the test ends.
func Prefix(t testing.TB, c *redis.Client, base string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := base + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if keys, err := c.Keys(ctx, p+"*").Result(); err == nil && len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
	return p
}
