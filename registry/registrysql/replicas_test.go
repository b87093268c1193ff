package registrysql_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func replica(seq int64, id string, version int, name string) registry.Replica {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return registry.Replica{Seq: seq, ID: id, Version: version, URN: "urn:air:b.example:agent:" + id, Status: "active",
		JSON: testCard(name, "tide tables "+name, map[string][]string{"tides": {"sea"}}, false), CreatedAt: at, UpdatedAt: at,
		Reputation: []byte(`{"token":"x.y.z","agent":"` + id + `","score":640,"tier":"Trusted","issuer":"spiffe://b.example/registry/main","expires_at":"2027-01-01T00:00:00Z"}`)}
}

// TestReplicas: copies of a peer's cards are stored read-only with their origin, found by
// search (in-memory index and the store's own), replaced only by later changes of the
// origin's feed, removed by tombstones, never served in this registry's own feed; a copy
// cannot take the id of a local card; dropping a peer's copies lets its feed apply again.
func TestReplicas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := registrysql.NewCards(db)
		cards := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "reg.test"})
		if _, err := cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		ada := newDeveloper(t, db, "dev_ada", true)
		admin := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_root", Roles: []string{policy.RoleDeveloper, policy.RoleAdmin}, AuthMethod: policy.AuthSession, Verified: true}
		local, err := cards.Create(ctx, ada, registry.CardInput{JSON: testCard("Tide Local", "tide tables here", map[string][]string{"tides": {"sea"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		notices := 0
		cards.OnLocalChange(func() { notices++ })

		bad := replica(3, "agt_bad", 1, "Bad")
		bad.JSON = []byte(`{"name": 1}`)
		res, err := cards.ApplyReplicas(ctx, "b.example", []registry.Replica{replica(1, "agt_b1", 1, "Tide One"), replica(2, "agt_b2", 1, "Tide Two"),
			bad, replica(4, local.ID, 1, "Hijack"), replica(5, "nope", 1, "No id")})
		if err != nil || res.Applied != 2 || res.Rejected != 3 || res.Problem == "" || notices != 0 {
			t.Fatalf("apply = %+v, %v (notices %d)", res, err, notices)
		}
		c, err := cards.Get(ctx, "agt_b1")
		if err != nil || c.Origin != "b.example" || c.OwnerID != registry.ReplicaOwner || cards.URN(c) != "urn:air:b.example:agent:agt_b1" ||
			c.Version != 1 || c.OriginSeq != 1 || len(c.OriginReputation) == 0 {
			t.Fatalf("copy %+v, %v", c, err)
		}
		if o, err := cards.ReplicaOrigins(ctx); err != nil || len(o) != 1 || o[0] != "b.example" {
			t.Fatalf("origins %v, %v", o, err)
		}
		if got, _ := cards.Get(ctx, local.ID); got.Origin != "" || got.Name != "Tide Local" {
			t.Fatalf("the local card was touched: %+v", got)
		}
		if _, err := cards.Update(ctx, ada, "agt_b1", registry.CardInput{JSON: testCard("Mine", "x", map[string][]string{"x": nil}, false)}, 0); apperr.CodeOf(err) != "CARD_REPLICATED" {
			t.Fatalf("update a copy: %v", err)
		}
		if err := cards.Delete(ctx, admin, "agt_b1"); apperr.CodeOf(err) != "CARD_REPLICATED" {
			t.Fatalf("delete a copy: %v", err)
		}
		search := func(svc *registry.Cards) []string {
			r, err := svc.Search(ctx, policy.Subject{}, discovery.Query{Text: "tide", Limit: 10}, false)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range r.Cards {
				out = append(out, c.Origin+"/"+c.Name)
			}
			return out
		}
		plain := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "reg.test", NoIndex: true})
		for _, svc := range []*registry.Cards{cards, plain} {
			if got := search(svc); len(got) != 3 {
				t.Fatalf("search found %v", got)
			}
		}
		// Own feed: the local card only.
		own, head, err := cards.OwnChanges(ctx, 0, 100)
		if err != nil || len(own) != 1 || own[0].ID != local.ID || head < own[0].Seq+2 {
			t.Fatalf("own changes %v, head %d, %v", own, head, err)
		}

		// Later change wins; an earlier or repeated one is stale.
		res, err = cards.ApplyReplicas(ctx, "b.example", []registry.Replica{replica(6, "agt_b1", 2, "Tide Uno"), replica(2, "agt_b2", 1, "Tide Old")})
		if err != nil || res.Applied != 1 || res.Stale != 1 {
			t.Fatalf("apply = %+v, %v", res, err)
		}
		if c, _ := cards.Get(ctx, "agt_b1"); c.Name != "Tide Uno" || c.Version != 2 {
			t.Fatalf("after update %+v", c)
		}
		// Another origin cannot take b.example's card.
		if res, err = cards.ApplyReplicas(ctx, "c.example", []registry.Replica{replica(9, "agt_b1", 5, "Stolen")}); err != nil || res.Rejected != 1 {
			t.Fatalf("other origin = %+v, %v", res, err)
		}
		// Tombstones: the copy goes; a tombstone of a card never copied is stale.
		tomb := registry.Replica{Seq: 7, ID: "agt_b2", Version: 2, Deleted: true, UpdatedAt: time.Now()}
		ghost := registry.Replica{Seq: 8, ID: "agt_b9", Version: 3, Deleted: true}
		if res, err = cards.ApplyReplicas(ctx, "b.example", []registry.Replica{tomb, ghost}); err != nil || res.Applied != 1 || res.Stale != 1 {
			t.Fatalf("tombstones = %+v, %v", res, err)
		}
		if _, err := cards.Get(ctx, "agt_b2"); apperr.CodeOf(err) != "CARD_NOT_FOUND" {
			t.Fatalf("deleted copy: %v", err)
		}
		for _, svc := range []*registry.Cards{cards, plain} {
			if got := search(svc); len(got) != 2 {
				t.Fatalf("search after tombstone %v", got)
			}
		}
		// Dropped: every copy goes, and the feed applies again from its beginning.
		if n, err := cards.DropReplicas(ctx, "b.example"); err != nil || n != 1 {
			t.Fatalf("drop = %d, %v", n, err)
		}
		if got := search(cards); len(got) != 1 {
			t.Fatalf("search after drop %v", got)
		}
		if o, err := cards.ReplicaOrigins(ctx); err != nil || len(o) != 0 {
			t.Fatalf("origins after drop %v, %v", o, err)
		}
		if res, err = cards.ApplyReplicas(ctx, "b.example", []registry.Replica{replica(1, "agt_b1", 1, "Tide One"), replica(2, "agt_b2", 1, "Tide Two")}); err != nil || res.Applied != 2 {
			t.Fatalf("re-apply = %+v, %v", res, err)
		}
		// A second replica of this registry follows the copies through the change feed.
		other := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "reg.test"})
		if _, err := other.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if got := search(other); len(got) != 3 {
			t.Fatalf("other replica found %v", got)
		}
	})
}

// TestReplicas_APageChangingACardTwiceIndexesItOnce: a page that creates a copy and changes it
// (and creates and withdraws another) leaves the store's full-text index with the last text of
// each live copy only, whether its rows are written at once or batched at the page's end.
func TestReplicas_APageChangingACardTwiceIndexesItOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		plain := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: policy.New(), Host: "reg.test", NoIndex: true})
		gone := registry.Replica{Seq: 4, ID: "agt_b3", Version: 2, Deleted: true, UpdatedAt: time.Now()}
		res, err := plain.ApplyReplicas(ctx, "b.example", []registry.Replica{replica(1, "agt_b1", 1, "Tide Ten"), replica(2, "agt_b1", 2, "Tide Eleven"),
			replica(3, "agt_b3", 1, "Tide Three"), gone, replica(5, "agt_b4", 1, "Tide Four")})
		if err != nil || res.Applied != 5 {
			t.Fatalf("apply = %+v, %v", res, err)
		}
		for text, want := range map[string][]string{"tide": {"Tide Eleven", "Tide Four"}, "eleven": {"Tide Eleven"}, "ten": nil, "three": nil} {
			r, err := plain.Search(ctx, policy.Subject{}, discovery.Query{Text: text, Limit: 10}, false)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range r.Cards {
				got = append(got, c.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("search %q found %v, want %v", text, got, want)
			}
		}
	})
}
