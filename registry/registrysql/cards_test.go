package registrysql_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/discovery/relevance"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// testCard is a valid A2A v1.0 card with these skills (id → tags).
func testCard(name, desc string, skills map[string][]string, streaming bool) []byte {
	var sk []map[string]any
	ids := make([]string, 0, len(skills))
	for id := range skills {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sk = append(sk, map[string]any{"id": id, "name": id + " skill", "description": "does " + id, "tags": skills[id]})
	}
	b, _ := json.Marshal(map[string]any{
		"name": name, "description": desc, "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": "https://agents.example.com/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{"streaming": streaming},
		"defaultInputModes":   []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": sk,
	})
	return b
}

func newDeveloper(t *testing.T, db *store.DB, id string, verified bool) policy.Subject {
	t.Helper()
	now := time.Now().UTC()
	d := &registry.Developer{ID: id, Email: id + "@example.com", Name: id, Role: registry.RoleDeveloper, PasswordHash: "x",
		CreatedAt: now, UpdatedAt: now}
	if verified {
		d.EmailVerifiedAt = &now
	}
	if err := registrysql.NewAccounts(db).InsertDeveloper(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return policy.Subject{Kind: policy.KindDeveloper, ID: id, Roles: []string{policy.RoleDeveloper}, AuthMethod: policy.AuthSession, Verified: verified}
}

func TestCardLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cards := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: policy.New(), Host: "reg.test"})
		if _, err := cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		ada := newDeveloper(t, db, "dev_ada", true)
		bob := newDeveloper(t, db, "dev_bob", true)
		eve := newDeveloper(t, db, "dev_eve", false)

		c, err := cards.Create(ctx, ada, registry.CardInput{JSON: testCard("Recipe Agent", "Finds recipes", map[string][]string{"find": {"cooking"}}, true)})
		if err != nil {
			t.Fatal(err)
		}
		if c.Version != 1 || c.Slug != "recipe-agent" || c.Status != "active" || c.SignatureStatus != "unsigned" || c.Seq == 0 {
			t.Fatalf("created %+v", c)
		}
		if !slices.Equal(c.Capabilities, []string{"streaming"}) || !slices.Equal(c.Tags, []string{"cooking"}) {
			t.Fatalf("terms %v %v", c.Capabilities, c.Tags)
		}
		if cards.URN(c) != "urn:air:reg.test:agent:recipe-agent" {
			t.Fatalf("urn %s", cards.URN(c))
		}
		// Same name: the URN takes part of the id.
		c2, err := cards.Create(ctx, bob, registry.CardInput{JSON: testCard("Recipe Agent", "Another", map[string][]string{"x": {"y"}}, false)})
		if err != nil {
			t.Fatal(err)
		}
		if c2.Slug == c.Slug {
			t.Fatalf("two cards share slug %s", c.Slug)
		}
		_, err = cards.Create(ctx, eve, registry.CardInput{JSON: testCard("Eve", "x", map[string][]string{"x": {"y"}}, false)})
		wantCode(t, err, "FORBIDDEN")
		_, err = cards.Create(ctx, ada, registry.CardInput{JSON: []byte(`{"name":"x"}`)})
		wantCode(t, err, "MISSING_FIELD")
		_, err = cards.Create(ctx, ada, registry.CardInput{JSON: testCard("Unsigned", "x", map[string][]string{"x": {"y"}}, false), SignedOnly: true})
		wantCode(t, err, "SIGNATURE_REQUIRED")

		// Update: owner only, version increments, history kept.
		_, err = cards.Update(ctx, bob, c.ID, registry.CardInput{JSON: testCard("Recipe Agent", "Hijack", map[string][]string{"x": {"y"}}, false)}, 0)
		wantCode(t, err, "FORBIDDEN")
		u, err := cards.Update(ctx, ada, c.ID, registry.CardInput{JSON: testCard("Recipe Agent", "Finds recipes and wines", map[string][]string{"find": {"cooking", "wine"}}, true)}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if u.Version != 2 || u.ETag == c.ETag || u.Slug != c.Slug {
			t.Fatalf("updated %+v", u)
		}
		_, err = cards.Update(ctx, ada, c.ID, registry.CardInput{JSON: testCard("Recipe Agent", "stale", map[string][]string{"x": {"y"}}, false)}, 1)
		wantCode(t, err, "VERSION_CONFLICT")
		got, err := cards.Get(ctx, c.ID)
		if err != nil || got.Proto().GetDescription() != "Finds recipes and wines" || got.Version != 2 {
			t.Fatalf("get %+v %v", got, err)
		}

		// Delete: owner only, soft.
		wantCode(t, cards.Delete(ctx, bob, c.ID), "FORBIDDEN")
		if err := cards.Delete(ctx, ada, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err = cards.Get(ctx, c.ID)
		wantCode(t, err, "CARD_NOT_FOUND")
		wantCode(t, cards.Delete(ctx, ada, c.ID), "CARD_NOT_FOUND")
		h, err := cards.History(ctx, c.ID, 0, 10)
		if err != nil || len(h) != 3 || h[0].Change != "created" || h[1].Change != "updated" || h[2].Change != "deleted" {
			t.Fatalf("history %+v %v", h, err)
		}
		_, err = cards.History(ctx, "agt_nope", 0, 10)
		wantCode(t, err, "CARD_NOT_FOUND")

		// The change feed: one entry per card, at its last change; the deleted one a tombstone.
		ch, err := cards.Changes(ctx, 0, 100)
		if err != nil || len(ch) != 2 {
			t.Fatalf("changes %+v %v", ch, err)
		}
		if ch[1].Doc.ID != c.ID || !ch[1].Deleted {
			t.Fatalf("last change %+v", ch[1])
		}
		// A fresh replica loads the live cards (one) and then follows the feed.
		other := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: policy.New(), Host: "reg.test"})
		if n, err := other.Sync(ctx); err != nil || n != 1 {
			t.Fatalf("sync %d %v", n, err)
		}
		res, err := other.Search(ctx, policy.Subject{}, discovery.Query{Text: "recipe"}, false)
		if err != nil || len(res.Cards) != 1 || res.Cards[0].ID != c2.ID {
			t.Fatalf("replica search %+v %v", res, err)
		}
	})
}

// TestSearchStoresAgree checks the store's full-text search (the fallback while the index
// loads: the query's terms with OR, no floor) against the in-memory index: listings are the
// same, and every card the index ranks for a query is among the store's matches.
func TestSearchStoresAgree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := registrysql.NewCards(db)
		indexed := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "reg.test"})
		plain := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "reg.test", NoIndex: true})
		devs := []policy.Subject{newDeveloper(t, db, "dev_a", true), newDeveloper(t, db, "dev_b", true)}
		words := []string{"weather", "forecast", "travel", "flight", "hotel", "code", "review", "translate", "tax", "legal"}
		for i := 0; i < 60; i++ {
			w := func(k int) string { return words[(i*7+k*3)%len(words)] }
			skills := map[string][]string{w(1): {w(2)}, w(3) + "-x": {w(4), "common"}}
			_, err := indexed.Create(ctx, devs[i%2], registry.CardInput{
				JSON: testCard(fmt.Sprintf("%s %s agent %d", w(0), w(5), i), fmt.Sprintf("Helps with %s and %s, %s", w(1), w(6), w(6)), skills, i%3 == 0)})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := indexed.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		queries := []discovery.Query{
			{Text: "weather"}, {Text: "travel hotel"}, {Text: "Agent"}, {Text: "tax", Tags: []string{"common"}},
			{Tags: []string{"common"}}, {Capabilities: []string{"streaming"}, Limit: 7}, {Text: "code", Skills: []string{"review-x"}},
			{Text: `"NEAR" * ' -- weather`}, {Text: `'`}, {Text: `--`}, {Text: "nomatch"}, {Text: "flight", Limit: 3},
			{Text: "the legal reviews of flights"},
		}
		for _, q := range queries {
			a := collect(t, indexed, q)
			b := collect(t, plain, q)
			if len(discovery.QueryTokens(q.Text)) == 0 {
				if !slices.Equal(ids(a), ids(b)) {
					t.Fatalf("listing %+v: index %v, store %v", q, ids(a), ids(b))
				}
				continue
			}
			in := map[string]bool{}
			for _, h := range b {
				in[h.id] = true
				if h.relevance < 1 || h.relevance > 100 {
					t.Fatalf("query %+v: store relevance %d", q, h.relevance)
				}
			}
			for _, h := range a {
				if !in[h.id] {
					t.Fatalf("query %+v: the index ranks %s, the store does not match it (index %v, store %v)", q, h.id, ids(a), ids(b))
				}
			}
		}
		_, err := plain.Search(ctx, policy.Subject{}, discovery.Query{Statuses: []string{"gone"}}, false)
		wantCode(t, err, "INVALID_FIELD")
		_, err = plain.Search(ctx, policy.Subject{}, discovery.Query{}, true)
		if !errors.Is(err, policy.ErrAuthRequired) {
			t.Fatalf("owned_only anonymous: %v", err)
		}
		mine, err := indexed.Search(ctx, devs[0], discovery.Query{Limit: 500}, true)
		if err != nil || len(mine.Cards) != 30 {
			t.Fatalf("owned_only: %d %v", len(mine.Cards), err)
		}
	})
}

type scored struct {
	id        string
	score     float64
	relevance int
}

// ids are the cards of hits, in order.
func ids(h []scored) []string {
	out := make([]string, len(h))
	for i := range h {
		out[i] = h[i].id
	}
	return out
}

// collect pages through every hit of q.
func collect(t *testing.T, s *registry.Cards, q discovery.Query) []scored {
	t.Helper()
	var out []scored
	for {
		res, err := s.Search(context.Background(), policy.Subject{}, q, false)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		for i, c := range res.Cards {
			out = append(out, scored{c.ID, res.Scores[i], res.Relevance[i]})
		}
		if res.Next == nil {
			return out
		}
		q.After = res.Next
	}
}

// TestSearchIdenticalOnSQLiteAndPostgres publishes the relevance corpus (the same records) in
// both stores and checks that every benchmark query, paged, gives the same cards in the same
// order with the same scores, relevance and correction.
func TestSearchIdenticalOnSQLiteAndPostgres(t *testing.T) {
	ctx := context.Background()
	dbs := []*store.DB{storetest.SQLite(t), storetest.Postgres(t)}
	corpus, err := relevance.Load()
	if err != nil {
		t.Fatal(err)
	}
	var svcs []*registry.Cards
	var cards []*registry.AgentCard
	for i, db := range dbs {
		newDeveloper(t, db, "dev_corpus", true)
		svc := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: policy.New(), Host: "reg.test"})
		if i == 0 {
			for j := range corpus.Cards {
				c, err := svc.NewCard(ctx, "dev_corpus", registry.CardInput{JSON: corpus.Cards[j].JSON(j)})
				if err != nil {
					t.Fatal(err)
				}
				cards = append(cards, c)
			}
		}
		if err := registrysql.NewCards(db).ImportCards(ctx, cards, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	for _, q := range corpus.Queries {
		var pages [2][]string
		for i, svc := range svcs {
			query := discovery.Query{Text: q.Text, Limit: 4}
			for {
				res, err := svc.Search(ctx, policy.Subject{}, query, false)
				if err != nil {
					t.Fatal(err)
				}
				for k, c := range res.Cards {
					pages[i] = append(pages[i], fmt.Sprintf("%s/%v/%d", c.ID, res.Scores[k], res.Relevance[k]))
				}
				pages[i] = append(pages[i], "dym="+res.DidYouMean)
				if res.Next == nil {
					break
				}
				query.After = res.Next
			}
		}
		if !slices.Equal(pages[0], pages[1]) {
			t.Fatalf("query %q: SQLite %v, PostgreSQL %v", q.Text, pages[0], pages[1])
		}
	}
}
