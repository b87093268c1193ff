package recentwrites

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sovereign-stack/sovereign/redistest"
)

func TestMemory_RemembersForTheWindowOnly(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemory(5 * time.Second)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	if m.Recent(ctx, "dev_a") {
		t.Fatal("a caller who never wrote is recent")
	}
	m.Wrote(ctx, "dev_a")
	now = now.Add(5 * time.Second)
	if !m.Recent(ctx, "dev_a") || m.Recent(ctx, "dev_b") {
		t.Fatal("within the window: want dev_a recent and dev_b not")
	}
	now = now.Add(time.Millisecond)
	if m.Recent(ctx, "dev_a") {
		t.Fatal("past the window, dev_a is still recent")
	}
}

func TestMemory_StaysBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemory(time.Minute)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range maxMemorySubjects + 10 {
		now = now.Add(time.Microsecond)
		m.Wrote(ctx, string(rune(i))+"x")
	}
	if len(m.at) > maxMemorySubjects {
		t.Fatalf("%d subjects kept, want at most %d", len(m.at), maxMemorySubjects)
	}
	if !m.Recent(ctx, string(rune(maxMemorySubjects+9))+"x") {
		t.Fatal("the newest writer was dropped")
	}
}

func TestRedis_SharedAndExpiring(t *testing.T) {
	c := redistest.Client(t, "the Redis tracker")
	ctx := context.Background()
	prefix := redistest.Prefix(t, c, "sovereign-test:ryw:")
	a, b := NewRedis(c, prefix, 300*time.Millisecond), NewRedis(c, prefix, 300*time.Millisecond)
	a.Wrote(ctx, "dev_a")
	if !b.Recent(ctx, "dev_a") {
		t.Fatal("a write recorded by one server is not seen by another")
	}
	if b.Recent(ctx, "dev_b") {
		t.Fatal("a caller who never wrote is recent")
	}
	time.Sleep(400 * time.Millisecond)
	if b.Recent(ctx, "dev_a") {
		t.Fatal("the write is still recent past the window")
	}
	// Redis unreachable: every caller reads the primary.
	dead := NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), prefix, time.Second)
	if !dead.Recent(ctx, "dev_c") {
		t.Fatal("with Redis unreachable, Recent must answer true (read the primary)")
	}
}
