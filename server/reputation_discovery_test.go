package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/reputation"
)

// TestDiscovery_ReputationFiltersAndSort: discovery results carry each agent's score and tier;
// min_reputation and tier keep only the agents that qualify; sort=reputation orders by score; bad
// values are refused with INVALID_FILTER and nothing else changes.
func TestDiscovery_ReputationFiltersAndSort(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		ids := map[string]string{}
		for _, name := range []string{"Tide Low", "Tide Mid", "Tide High", "Tide Fresh"} {
			r := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card(name, "Tide tables for harbours", "tides")}, bearer(ada.Access)).want(t, 201, "")
			ids[name] = r.str("id")
		}
		now := time.Now()
		if err := s.server.Reputation().Store.PutScores(context.Background(), []reputation.StoredScore{
			{Agent: ids["Tide Low"], Score: 50, ComputedAt: now}, {Agent: ids["Tide Mid"], Score: 450, ComputedAt: now},
			{Agent: ids["Tide High"], Score: 950, ComputedAt: now}}); err != nil {
			t.Fatal(err)
		}
		s.waitIndexed()
		names := func(r resp) []string {
			var out []string
			for _, it := range r.Body["items"].([]any) {
				out = append(out, it.(map[string]any)["name"].(string))
			}
			return out
		}
		all := s.do("GET", "/api/v1/agent-cards?q=tide+tables&limit=10", nil).want(t, 200, "")
		for _, it := range all.Body["items"].([]any) {
			m := it.(map[string]any)
			rep, _ := m["reputation"].(map[string]any)
			want := map[string]string{"Tide Low": "Untrusted", "Tide Mid": "Trusted", "Tide High": "Elite", "Tide Fresh": "New"}[m["name"].(string)]
			if rep == nil || rep["tier"] != want {
				t.Fatalf("%v: reputation %v, want tier %s", m["name"], rep, want)
			}
		}
		if got := names(s.do("GET", "/api/v1/agent-cards?q=tide+tables&min_reputation=400", nil).want(t, 200, "")); len(got) != 2 {
			t.Fatalf("min_reputation=400: %v", got)
		}
		// Filtered pages: the cursor continues after the last match examined.
		f1 := s.do("GET", "/api/v1/agent-cards?q=tide+tables&min_reputation=400&limit=1", nil).want(t, 200, "")
		f2 := s.do("GET", "/api/v1/agent-cards?q=tide+tables&min_reputation=400&limit=1&cursor="+f1.str("next_cursor"), nil).want(t, 200, "")
		if got := append(names(f1), names(f2)...); len(got) != 2 || got[0] == got[1] || f1.str("next_cursor") == "" {
			t.Fatalf("filtered pages: %v then %v", names(f1), names(f2))
		}
		if f2.str("next_cursor") != "" {
			if f3 := s.do("GET", "/api/v1/agent-cards?q=tide+tables&min_reputation=400&limit=1&cursor="+f2.str("next_cursor"), nil).want(t, 200, ""); len(names(f3)) != 0 {
				t.Fatalf("a third filtered page: %v", names(f3))
			}
		}
		if got := names(s.do("GET", "/api/v1/agent-cards?q=tide&tier=Elite", nil).want(t, 200, "")); len(got) != 1 || got[0] != "Tide High" {
			t.Fatalf("tier=Elite: %v", got)
		}
		sorted := names(s.do("GET", "/api/v1/agent-cards?q=tide&sort=reputation", nil).want(t, 200, ""))
		if len(sorted) != 4 || sorted[0] != "Tide High" || sorted[1] != "Tide Mid" || sorted[3] != "Tide Low" {
			t.Fatalf("sort=reputation: %v", sorted)
		}
		// Paged: the cursor of a sorted page continues the order.
		p1 := s.do("GET", "/api/v1/agent-cards?q=tide&sort=reputation&limit=2", nil).want(t, 200, "")
		p2 := s.do("GET", "/api/v1/agent-cards?q=tide&sort=reputation&limit=2&cursor="+p1.str("next_cursor"), nil).want(t, 200, "")
		if got := append(names(p1), names(p2)...); len(got) != 4 || got[0] != "Tide High" || got[3] != "Tide Low" || p2.str("next_cursor") != "" {
			t.Fatalf("sorted pages: %v then %v (%s)", names(p1), names(p2), p2.Raw)
		}
		// A cursor of one query does not continue another.
		s.do("GET", "/api/v1/agent-cards?q=tide&sort=reputation&limit=2&min_reputation=100&cursor="+p1.str("next_cursor"), nil).want(t, 422, "INVALID_CURSOR")
		for _, bad := range []string{"min_reputation=abc", "min_reputation=5000", "min_reputation=-1", "tier=Legendary"} {
			s.do("GET", "/api/v1/agent-cards?q=tide&"+bad, nil).want(t, 422, "INVALID_FILTER")
		}
		s.do("GET", "/api/v1/agent-cards?q=tide&sort=stars", nil).want(t, 422, "INVALID_FIELD")

		// ARD search: the same filters as minReputation and tier, and each result's score and
		// tier in its metadata.
		ard := func(filter map[string]any) resp {
			return s.do("POST", "/ard/v1/search", map[string]any{"query": map[string]any{"text": "tide tables", "filter": filter}})
		}
		ardNames := func(r resp) map[string]map[string]any {
			out := map[string]map[string]any{}
			for _, it := range r.Body["results"].([]any) {
				m := it.(map[string]any)
				md, _ := m["metadata"].(map[string]any)
				out[m["displayName"].(string)] = md
			}
			return out
		}
		every := ardNames(ard(map[string]any{}).want(t, 200, ""))
		if len(every) != 4 || every["Tide High"]["reputationTier"] != "Elite" || every["Tide High"]["reputationScore"] != float64(950) || every["Tide Fresh"]["reputationTier"] != "New" {
			t.Fatalf("ARD results' reputation: %v", every)
		}
		if got := ardNames(ard(map[string]any{"minReputation": "400"}).want(t, 200, "")); len(got) != 2 || got["Tide Mid"] == nil || got["Tide High"] == nil {
			t.Fatalf("ARD minReputation=400: %v", got)
		}
		if got := ardNames(ard(map[string]any{"tier": "Elite"}).want(t, 200, "")); len(got) != 1 || got["Tide High"] == nil {
			t.Fatalf("ARD tier=Elite: %v", got)
		}
		for _, bad := range []map[string]any{{"minReputation": "abc"}, {"minReputation": "5000"}, {"minReputation": []string{"1", "2"}}, {"tier": "Legendary"}} {
			ard(bad).want(t, 400, "INVALID_ARGUMENT")
		}
		s.do("POST", "/ard/v1/explore", map[string]any{"query": map[string]any{"filter": map[string]any{"tier": "Elite"}}, "resultType": map[string]any{"facets": []any{map[string]any{"field": "tags"}}}}).
			want(t, 400, "INVALID_ARGUMENT")
	})
}
