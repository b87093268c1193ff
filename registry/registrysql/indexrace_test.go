package registrysql_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// feedGate is a card store whose change feed, once armed, runs hook after reading and before
// returning: a write made there lands between a Sync's read and its apply.
type feedGate struct {
	registry.CardStore
	mu   sync.Mutex
	hook func()
}

func (g *feedGate) CardChanges(ctx context.Context, after int64, limit int) ([]registry.CardChange, error) {
	ch, err := g.CardStore.CardChanges(ctx, after, limit)
	g.mu.Lock()
	hook := g.hook
	g.hook = nil
	g.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ch, err
}

// An owner's edit made while a Sync is between reading the feed and applying it is what
// discovery answers at once afterwards: the Sync does not put the card's older version back
// over it (which, until the next sync, hid the edit from searches for its new words).
func TestIndex_EditDuringSyncIsNotUndone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		gate := &feedGate{CardStore: registrysql.NewCards(db)}
		cards := registry.NewCards(registry.CardsConfig{Store: gate, Authz: policy.New(), Host: "reg.test"})
		if _, err := cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		ada := newDeveloper(t, db, "dev_ada", true)
		c, err := cards.Create(ctx, ada, registry.CardInput{JSON: testCard("Lighthouse", "Answers questions", map[string][]string{"answer": {"qa"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		edited := make(chan error, 1)
		gate.mu.Lock()
		gate.hook = func() {
			go func() {
				_, err := cards.Update(ctx, ada, c.ID, registry.CardInput{JSON: testCard("Lighthouse", "Guides ships through fog", map[string][]string{"answer": {"qa"}}, false)}, 1)
				edited <- err
			}()
			// Long enough for the edit to commit and (without waiting for this Sync) reach the index.
			time.Sleep(300 * time.Millisecond)
		}
		gate.mu.Unlock()
		if _, err := cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-edited; err != nil {
			t.Fatal(err)
		}
		res, err := cards.Search(ctx, policy.Subject{}, discovery.Query{Text: "ships fog"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Cards) != 1 || res.Cards[0].ID != c.ID {
			t.Fatalf("right after the edit, a search for its new words finds %d cards; want the edited one", len(res.Cards))
		}
	})
}
