package ratelimit

import (
	"context"
	"testing"
	"time"
)

// testPeek checks, on any Limiter, that Peek answers like Allow and records nothing.
func testPeek(t *testing.T, l Limiter, key string) {
	t.Helper()
	ctx := context.Background()
	lim := Limit{Rate: 3, Period: time.Minute, Burst: 3}
	for i := 0; i < 10; i++ {
		if res, err := l.Peek(ctx, key, lim); err != nil || !res.Allowed {
			t.Fatalf("Peek %d on a fresh key: %+v, %v", i, res, err)
		}
	}
	for i := 0; i < 3; i++ {
		if res := mustAllow(t, l, key, lim); !res.Allowed {
			t.Fatalf("Allow %d within the burst after peeks: %+v (a peek was recorded)", i, res)
		}
	}
	res, err := l.Peek(ctx, key, lim)
	if err != nil || res.Allowed || res.RetryAfter <= 0 {
		t.Fatalf("Peek after the burst: %+v, %v; want denied with a RetryAfter", res, err)
	}
	if _, err := l.Peek(ctx, key, Limit{}); err == nil {
		t.Fatal("Peek with an invalid limit: no error")
	}
}

func TestMemory_PeekRecordsNothing(t *testing.T) {
	m, _ := newTestMemory(t)
	testPeek(t, m, "peek")
}

func TestRedis_PeekRecordsNothing(t *testing.T) {
	client := newTestRedisClient(t)
	testPeek(t, NewRedis(client, newTestPrefix(t, client)), "peek")
}
