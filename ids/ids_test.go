package ids_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/ids"
)

func TestNew_SortsInCreationOrderEvenWithinOneMillisecond(t *testing.T) {
	prev := ids.New("x")
	for i := 0; i < 10000; i++ {
		id := ids.New("x")
		if id <= prev {
			t.Fatalf("id %d %q does not sort after %q", i, id, prev)
		}
		prev = id
	}
	// A clock that goes back does not break the order either.
	a := ids.NewAt("x", time.Now())
	b := ids.NewAt("x", time.Now().Add(-time.Hour))
	if b <= a {
		t.Fatalf("%q after a backwards clock sorts before %q", b, a)
	}
}

func TestNew_IsUniqueUnderConcurrency(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				id := ids.New("dev")
				if !ids.Valid("dev", id) {
					t.Errorf("invalid id %q", id)
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate %q", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestValid(t *testing.T) {
	if !ids.Valid("dev", ids.New("dev")) || ids.Valid("dev", ids.New("key")) || ids.Valid("dev", "dev_short") || ids.Valid("dev", "dev_0123456789ABCDEFGHJKMNPQRU") {
		t.Fatal("Valid")
	}
}
