package registrysql_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/redistest"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// cardBytes is everything the registry keeps of a card, as bytes (the parsed card aside).
func cardBytes(t *testing.T, c *registry.AgentCard) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pageBytes(t *testing.T, res *registry.SearchResult) string {
	t.Helper()
	out := ""
	for i, c := range res.Cards {
		out += fmt.Sprintf("%s %v %d\n", cardBytes(t, c), res.Scores[i], res.Relevance[i])
	}
	return out
}

// cacheReplicas are two card services over one store (two replicas of a registry), each with
// a card cache, and one without a cache that reads the store (the reference).
type cacheReplicas struct {
	r1, r2, ref *registry.Cards
}

func newCacheReplicas(t *testing.T, db *store.DB, c1, c2 registry.CardCache, validate ...bool) cacheReplicas {
	t.Helper()
	mk := func(c registry.CardCache) *registry.Cards {
		s := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: policy.New(), Host: "reg.test", Cache: c,
			ValidateCache: len(validate) > 0 && validate[0]})
		if _, err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return cacheReplicas{r1: mk(c1), r2: mk(c2), ref: mk(nil)}
}

// syncAll has each card service follow the change feed.
func syncAll(t *testing.T, rs ...*registry.Cards) {
	t.Helper()
	for _, r := range rs {
		if _, err := r.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// same fails unless replica r reads card id (and the discovery page of q) as the store has it.
func (e cacheReplicas) same(t *testing.T, r *registry.Cards, id string, q discovery.Query) {
	t.Helper()
	ctx := context.Background()
	want, werr := e.ref.Get(ctx, id)
	got, gerr := r.Get(ctx, id)
	if !errors.Is(gerr, werr) || (werr == nil && cardBytes(t, got) != cardBytes(t, want)) {
		t.Fatalf("card %s:\n got  %v %v\n want %v %v", id, got, gerr, want, werr)
	}
	wp, err := e.ref.Search(ctx, policy.Subject{}, q, false)
	if err != nil {
		t.Fatal(err)
	}
	gp, err := r.Search(ctx, policy.Subject{}, q, false)
	if err != nil {
		t.Fatal(err)
	}
	if pageBytes(t, gp) != pageBytes(t, wp) {
		t.Fatalf("page of %+v:\n got  %s\n want %s", q, pageBytes(t, gp), pageBytes(t, wp))
	}
}

// redisCardCaches are two card caches in the Redis of SOVEREIGN_TEST_REDIS, each with its own
// client, under one fresh prefix (two replicas sharing it).
func redisCardCaches(t *testing.T) (registry.CardCache, registry.CardCache) {
	c1, c2 := redistest.Client(t, "the card cache in Redis"), redistest.Client(t, "the card cache in Redis")
	p := redistest.Prefix(t, c1, "sovereign-test:hot:card:")
	return hotcache.NewRedis(c1, p, time.Minute, registry.CardCodec), hotcache.NewRedis(c2, p, time.Minute, registry.CardCodec)
}

// TestCardCache_Shared: replicas sharing a card cache (one memory cache, or Redis) read every
// card and every discovery page exactly as the store has them, byte for byte, after each kind
// of write made by either replica: publish, update, delete, a heartbeat (no new seq), a status
// change, federation copies and their removal; an older read stored late never replaces a
// newer document.
func TestCardCache_Shared(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				var c1, c2 registry.CardCache
				if kind == "memory" {
					m := hotcache.NewMemory[*registry.AgentCard](1000, time.Minute)
					c1, c2 = m, m
				} else {
					c1, c2 = redisCardCaches(t)
				}
				testSharedCardCache(t, db, c1, c2)
			})
		})
	}
}

func testSharedCardCache(t *testing.T, db *store.DB, c1, c2 registry.CardCache) {
	ctx := context.Background()
	e := newCacheReplicas(t, db, c1, c2)
	ada := newDeveloper(t, db, "dev_ada", true)
	q := discovery.Query{Text: "tide", Limit: 10}
	var ids []string
	for i := 0; i < 5; i++ {
		c, err := e.r1.Create(ctx, ada, registry.CardInput{JSON: testCard(fmt.Sprintf("Tide %d", i), "tide tables", map[string][]string{"tides": {"sea"}}, i%2 == 0)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	syncAll(t, e.r1, e.r2, e.ref)
	for _, id := range ids { // warm, then the same from the cache
		e.same(t, e.r2, id, q)
		e.same(t, e.r2, id, q)
	}
	old, _ := e.r2.Get(ctx, ids[0])

	// An update by replica 1 is what replica 2 reads at once.
	up, err := e.r1.Update(ctx, ada, ids[0], registry.CardInput{JSON: testCard("Tide Zero", "tide tables renamed", map[string][]string{"tides": {"sea"}}, true)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if up.Version != 2 {
		t.Fatalf("version %d", up.Version)
	}
	e.same(t, e.r2, ids[0], q)
	// A reader that read the card before the update and stores it after: refused.
	if err := c2.Set(ctx, ids[0], old.Revision, old); err != nil {
		t.Fatal(err)
	}
	e.same(t, e.r2, ids[0], q)

	// A heartbeat writes last_heartbeat_at only (no seq): the revision moves, and the writer
	// writes the card through.
	beat := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if _, err := db.Write().ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2 WHERE id = $1`, ids[1], store.Time(beat)); err != nil {
		t.Fatal(err)
	}
	e.r1.RefreshCard(ctx, ids[1])
	got, err := e.r2.Get(ctx, ids[1])
	if err != nil || got.LastHeartbeatAt == nil || !got.LastHeartbeatAt.Equal(beat) {
		t.Fatalf("after a heartbeat: %+v %v", got, err)
	}
	e.same(t, e.r2, ids[1], q)

	// A status change the replica did not make itself (the stale-agent sweep) reaches the
	// cache through the change feed.
	if _, err := db.Write().ExecContext(ctx, `UPDATE agent_cards SET status = 'inactive', seq = (SELECT MAX(seq) + 1 FROM agent_cards) WHERE id = $1`, ids[2]); err != nil {
		t.Fatal(err)
	}
	syncAll(t, e.r2, e.ref)
	e.same(t, e.r2, ids[2], q)
	if c, _ := e.r2.Get(ctx, ids[2]); c.Status != "inactive" {
		t.Fatalf("status %q", c.Status)
	}

	// A delete by replica 1: gone for replica 2, from its pages too.
	if err := e.r1.Delete(ctx, ada, ids[3]); err != nil {
		t.Fatal(err)
	}
	syncAll(t, e.r2, e.ref)
	if _, err := e.r2.Get(ctx, ids[3]); !errors.Is(err, registry.ErrCardNotFound) {
		t.Fatalf("deleted card read as %v", err)
	}
	e.same(t, e.r2, ids[3], q)

	// Federation copies: applied, read, replaced by a later change, dropped.
	if _, err := e.r1.ApplyReplicas(ctx, "b.example", []registry.Replica{replica(1, "agt_b1", 1, "Tide Copy")}); err != nil {
		t.Fatal(err)
	}
	syncAll(t, e.r2, e.ref)
	e.same(t, e.r2, "agt_b1", q)
	if _, err := e.r1.ApplyReplicas(ctx, "b.example", []registry.Replica{replica(2, "agt_b1", 2, "Tide Copy Two")}); err != nil {
		t.Fatal(err)
	}
	syncAll(t, e.r2, e.ref)
	e.same(t, e.r2, "agt_b1", q)
	if c, _ := e.r2.Get(ctx, "agt_b1"); c.Name != "Tide Copy Two" {
		t.Fatalf("copy %q", c.Name)
	}
	if _, err := e.r1.DropReplicas(ctx, "b.example"); err != nil {
		t.Fatal(err)
	}
	syncAll(t, e.r2, e.ref)
	e.same(t, e.r2, "agt_b1", q)
	syncAll(t, e.r1)
	for _, id := range ids {
		e.same(t, e.r1, id, q)
		e.same(t, e.r2, id, q)
	}
}

// TestCardCache_MemoryPerReplica: with only an in-process cache per replica, a change another
// replica made shows once this replica's index follows the change feed (the index's own
// staleness), and a heartbeat (no feed entry) within the cache's TTL.
func TestCardCache_MemoryPerReplica(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		e := newCacheReplicas(t, db, hotcache.NewMemory[*registry.AgentCard](100, ttl), hotcache.NewMemory[*registry.AgentCard](100, ttl))
		ada := newDeveloper(t, db, "dev_ada", true)
		q := discovery.Query{Text: "tide", Limit: 10}
		c, err := e.r1.Create(ctx, ada, registry.CardInput{JSON: testCard("Tide", "tide tables", map[string][]string{"tides": {"sea"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		sync := func() {
			syncAll(t, e.r1, e.r2, e.ref)
		}
		sync()
		e.same(t, e.r2, c.ID, q)
		if _, err := e.r1.Update(ctx, ada, c.ID, registry.CardInput{JSON: testCard("Tide Renamed", "tide tables", map[string][]string{"tides": {"sea"}}, false)}, 0); err != nil {
			t.Fatal(err)
		}
		sync()
		e.same(t, e.r2, c.ID, q)

		beat := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		if _, err := db.Write().ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2 WHERE id = $1`, c.ID, store.Time(beat)); err != nil {
			t.Fatal(err)
		}
		e.r1.RefreshCard(ctx, c.ID)
		e.same(t, e.r1, c.ID, q)
		time.Sleep(2 * ttl)
		e.same(t, e.r2, c.ID, q)
	})
}

// TestCardRevision: every UPDATE of a card row moves its revision, whatever it changes.
func TestCardRevision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := registrysql.NewCards(db)
		cards := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "reg.test"})
		ada := newDeveloper(t, db, "dev_ada", true)
		c, err := cards.Create(ctx, ada, registry.CardInput{JSON: testCard("Rev", "revisions", map[string][]string{"r": {"x"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		prev := int64(-1)
		for i, stmt := range []string{`UPDATE agent_cards SET name = name WHERE id = $1`, `UPDATE agent_cards SET last_heartbeat_at = '2026-01-01T00:00:00.000000Z' WHERE id = $1`,
			`UPDATE agent_cards SET status = 'inactive' WHERE id = $1`} {
			got, err := st.Card(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision <= prev {
				t.Fatalf("step %d: revision %d after %d", i, got.Revision, prev)
			}
			prev = got.Revision
			if _, err := db.Write().ExecContext(ctx, stmt, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := st.Card(ctx, c.ID); got.Revision != prev+1 {
			t.Fatalf("revision %d, want %d", got.Revision, prev+1)
		}
	})
}

// TestCardCache_Validated: with an in-process cache per replica whose hits are checked against
// the store's revision (the server without Redis), a write by another replica — a heartbeat
// too, which is not in the change feed — is read at once, before any sync; long TTLs.
func TestCardCache_Validated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newCacheReplicas(t, db, hotcache.NewMemory[*registry.AgentCard](100, time.Hour), hotcache.NewMemory[*registry.AgentCard](100, time.Hour), true)
		ada := newDeveloper(t, db, "dev_ada", true)
		q := discovery.Query{Text: "tide", Limit: 10}
		var ids []string
		for i := 0; i < 3; i++ {
			c, err := e.r1.Create(ctx, ada, registry.CardInput{JSON: testCard(fmt.Sprintf("Tide %d", i), "tide tables", map[string][]string{"tides": {"sea"}}, false)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		syncAll(t, e.r1, e.r2, e.ref)
		for _, id := range ids {
			e.same(t, e.r2, id, q)
			e.same(t, e.r2, id, q)
		}
		if _, err := e.r1.Update(ctx, ada, ids[0], registry.CardInput{JSON: testCard("Tide Renamed", "tide tables", map[string][]string{"tides": {"sea"}}, false)}, 0); err != nil {
			t.Fatal(err)
		}
		beat := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		if _, err := db.Write().ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2 WHERE id = $1`, ids[1], store.Time(beat)); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids { // no sync, no refresh: the revision check alone
			want, _ := e.ref.Get(ctx, id)
			got, err := e.r2.Get(ctx, id)
			if err != nil || cardBytes(t, got) != cardBytes(t, want) {
				t.Fatalf("card %s: got %v %v, want %v", id, got, err, want)
			}
		}
		if err := e.r1.Delete(ctx, ada, ids[2]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.r2.Get(ctx, ids[2]); !errors.Is(err, registry.ErrCardNotFound) {
			t.Fatalf("deleted card read as %v", err)
		}
		syncAll(t, e.r1, e.r2, e.ref)
		for _, id := range ids {
			e.same(t, e.r2, id, q)
		}
	})
}

// TestCardCache_ReadersRaceWriters: readers on two replicas sharing a cache read a card while
// the other replica updates it and heartbeats write its row; when the writes stop, every
// replica reads the last version (no reader stored an older one over it).
func TestCardCache_ReadersRaceWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := hotcache.NewMemory[*registry.AgentCard](100, time.Hour)
		e := newCacheReplicas(t, db, m, m)
		ada := newDeveloper(t, db, "dev_ada", true)
		c, err := e.r1.Create(ctx, ada, registry.CardInput{JSON: testCard("Race", "racing", map[string][]string{"race": {"x"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		readErr := make(chan error, 4)
		for w := 0; w < 4; w++ {
			go func() {
				r := e.r1
				if w%2 == 1 {
					r = e.r2
				}
				for {
					select {
					case <-done:
						readErr <- nil
						return
					default:
					}
					if _, err := r.Get(ctx, c.ID); err != nil {
						readErr <- err
						return
					}
				}
			}()
		}
		for i := 0; i < 15; i++ {
			if _, err := e.r1.Update(ctx, ada, c.ID, registry.CardInput{JSON: testCard(fmt.Sprintf("Race %d", i), "racing", map[string][]string{"race": {"x"}}, false)}, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write().ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2 WHERE id = $1`, c.ID, store.Time(time.Now())); err != nil {
				t.Fatal(err)
			}
			e.r2.RefreshCard(ctx, c.ID)
		}
		close(done)
		for w := 0; w < 4; w++ {
			if err := <-readErr; err != nil {
				t.Fatal(err)
			}
		}
		want, _ := e.ref.Get(ctx, c.ID)
		for _, r := range []*registry.Cards{e.r1, e.r2} {
			got, err := r.Get(ctx, c.ID)
			if err != nil || cardBytes(t, got) != cardBytes(t, want) {
				t.Fatalf("after the race: %v %v, want %v", got, err, want)
			}
		}
	})
}

// TestCardCache_PageRecheck: with PageRecheck, a discovery page serves a cached card found
// current within the window without asking the store (another replica's heartbeat shows on
// the page only after the window, as it shows in the index only after a sync), while reading
// the card by id is checked at once; after the window the page is the store's again.
func TestCardCache_PageRecheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		mk := func(recheck time.Duration, c registry.CardCache) *registry.Cards {
			s := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: policy.New(), Host: "reg.test", Now: clock,
				Cache: c, ValidateCache: c != nil, PageRecheck: recheck})
			if _, err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		}
		ada := newDeveloper(t, db, "dev_ada", true)
		writer := mk(0, nil)
		c, err := writer.Create(ctx, ada, registry.CardInput{JSON: testCard("Tide", "tide tables", map[string][]string{"tides": {"sea"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		e := cacheReplicas{r1: writer, r2: mk(time.Second, hotcache.NewMemory[*registry.AgentCard](100, time.Hour)), ref: mk(0, nil)}
		q := discovery.Query{Text: "tide", Limit: 10}
		e.same(t, e.r2, c.ID, q) // cached, found current at now
		before, err := e.r2.Search(ctx, policy.Subject{}, q, false)
		if err != nil {
			t.Fatal(err)
		}
		beat := now.Add(time.Minute)
		if _, err := db.Write().ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2 WHERE id = $1`, c.ID, store.Time(beat)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(999 * time.Millisecond)
		page, err := e.r2.Search(ctx, policy.Subject{}, q, false)
		if err != nil {
			t.Fatal(err)
		}
		if pageBytes(t, page) != pageBytes(t, before) {
			t.Fatalf("within the window the page changed:\n%s\nwant\n%s", pageBytes(t, page), pageBytes(t, before))
		}
		want, _ := e.ref.Get(ctx, c.ID)
		if got, err := e.r2.Get(ctx, c.ID); err != nil || cardBytes(t, got) != cardBytes(t, want) {
			t.Fatalf("a read by id within the window: got %v %v, want %v", got, err, want)
		}
		now = now.Add(2 * time.Millisecond)
		e.same(t, e.r2, c.ID, q)
	})
}
