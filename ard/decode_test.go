package ard_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/ard"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/registry"
)

func TestDecodeSearchRequest_Defaults(t *testing.T) {
	req, err := ard.DecodeSearchRequest([]byte(`{"query":{"text":"weather","filter":{"tags":"weather","capabilities":["forecast","observe"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &ard.SearchRequest{Query: ard.QueryModel{Text: "weather", Filter: map[string][]string{
		"tags": {"weather"}, "capabilities": {"forecast", "observe"}}}, Federation: "auto", PageSize: 10}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got %+v, want %+v", req, want)
	}
	req, err = ard.DecodeSearchRequest([]byte(`{"query":{"text":""},"federation":"referrals","pageSize":1000.0,"pageToken":"x"}`))
	if err != nil || req.PageSize != ard.MaxPageSize || req.Federation != "referrals" || req.PageToken != "x" {
		t.Fatalf("got %+v, %v", req, err)
	}
}

func TestDecodeSearchRequest_RejectsBadInput(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{``, "the request body is empty"},
		{`{"query":`, "not valid JSON"},
		{`[]`, "must be a JSON object"},
		{`{"query":{"text":"a"}} x`, "not valid JSON"},
		{`{}`, `field "query" is required`},
		{`{"query":{}}`, `field "query.text" is required`},
		{`{"query":{"text":"a"},"limit":3}`, `unknown field "limit"`},
		{`{"query":{"text":"a","sort":"x"}}`, `unknown field "query.sort"`},
		{`{"query":"weather"}`, "query must be a JSON object"},
		{`{"query":{"text":null}}`, "query.text must be a string"},
		{`{"query":{"text":3}}`, "query.text must be a string"},
		{`{"query":{"text":"a","filter":[]}}`, "query.filter must be a JSON object"},
		{`{"query":{"text":"a","filter":{"owner":"x"}}}`, `unknown filter field "owner"`},
		{`{"query":{"text":"a","filter":{"tags":3}}}`, "query.filter.tags must be a string or an array of strings"},
		{`{"query":{"text":"a","filter":{"tags":["a",3]}}}`, "query.filter.tags[1] must be a string"},
		{`{"query":{"text":"a","filter":{"tags":[]}}}`, "an empty list of values matches nothing"},
		{`{"query":{"text":"a"},"federation":"all"}`, "federation must be one of auto, referrals, none"},
		{`{"query":{"text":"a"},"pageSize":0}`, "pageSize must be at least 1"},
		{`{"query":{"text":"a"},"pageSize":2.5}`, "pageSize must be an integer"},
		{`{"query":{"text":"a"},"pageSize":"10"}`, "pageSize must be an integer"},
		{`{"query":{"text":"a"},"pageToken":7}`, "pageToken must be a string"},
		{`{"query":{"text":"` + strings.Repeat("a", ard.MaxTextBytes+1) + `"}}`, "query.text is longer than 1024 bytes"},
	} {
		t.Run(c.body, func(t *testing.T) {
			_, err := ard.DecodeSearchRequest([]byte(c.body))
			assertInvalid(t, err, c.want)
		})
	}
}

func TestDecodeExploreRequest(t *testing.T) {
	req, err := ard.DecodeExploreRequest([]byte(`{"resultType":{"facets":[{"field":"tags"},{"field":"type","limit":5,"minCount":2}],"extra":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []ard.FacetRequest{{Field: "tags", Limit: 20, MinCount: 1}, {Field: "type", Limit: 5, MinCount: 2}}
	if !reflect.DeepEqual(req.ResultType.Facets, want) {
		t.Fatalf("got %+v", req.ResultType.Facets)
	}
	for _, c := range []struct{ body, want string }{
		{`{}`, `field "resultType" is required`},
		{`{"resultType":{}}`, `field "resultType.facets" is required`},
		{`{"resultType":{"facets":{}}}`, "resultType.facets must be an array"},
		{`{"resultType":{"facets":[{"field":"owner"}]}}`, `resultType.facets[0].field: unknown facet field "owner"`},
		{`{"resultType":{"facets":[{"field":"tags","top":3}]}}`, `unknown field "resultType.facets[0].top"`},
		{`{"resultType":{"facets":[{"limit":3}]}}`, `field "resultType.facets[0].field" is required`},
		{`{"resultType":{"facets":[{"field":"tags"},{"field":"tags"}]}}`, `facet "tags" is asked for twice`},
		{`{"resultType":{"facets":[{"field":"tags","limit":0}]}}`, "resultType.facets[0].limit must be between 1 and 1000"},
		{`{"resultType":{"facets":[{"field":"tags","minCount":-1}]}}`, "minCount must not be negative"},
		{`{"query":{"text":"a","x":1},"resultType":{"facets":[]}}`, `unknown field "query.x"`},
		{`{"resultType":{"facets":[]},"pageSize":3}`, `unknown field "pageSize"`},
	} {
		t.Run(c.body, func(t *testing.T) {
			_, err := ard.DecodeExploreRequest([]byte(c.body))
			assertInvalid(t, err, c.want)
		})
	}
}

func TestSelect_MapsFilters(t *testing.T) {
	s, err := ard.Select(ard.QueryModel{Text: "rain", Filter: map[string][]string{
		"tags": {"weather"}, "capabilities": {"forecast"}, "skills": {"observe", "forecast"},
		"status": {"active", "inactive"}, "type": {"application/mcp-server-card+json", ard.MediaTypeA2A}}})
	if err != nil {
		t.Fatal(err)
	}
	want := discovery.Query{Text: "rain", Tags: []string{"weather"}, Skills: []string{"forecast", "observe"}, Statuses: []string{"active", "inactive"}}
	if !reflect.DeepEqual(s.Query, want) || s.None {
		t.Fatalf("got %+v none=%v", s.Query, s.None)
	}
	if s, _ := ard.Select(ard.QueryModel{Filter: map[string][]string{"type": {"application/mcp-server-card+json"}}}); !s.None {
		t.Fatal("a type other than A2A cards must select nothing")
	}
	_, err = ard.Select(ard.QueryModel{Filter: map[string][]string{"status": {"asleep"}}})
	assertInvalid(t, err, `unknown status "asleep"`)
	_, err = ard.Select(ard.QueryModel{Filter: map[string][]string{"vendor": {"x"}}})
	assertInvalid(t, err, `unknown filter field "vendor"`)
}

func TestPageToken_BoundToQuery(t *testing.T) {
	a, _ := ard.Select(ard.QueryModel{Text: "Weather  forecast!", Filter: map[string][]string{"tags": {"b", "a"}}})
	same, _ := ard.Select(ard.QueryModel{Text: "weather forecast", Filter: map[string][]string{"tags": {"a", "b"}}})
	other, _ := ard.Select(ard.QueryModel{Text: "weather"})
	tok := ard.PageToken{After: discovery.Position{Score: 1.5, ID: "agt_1"}, Top: 3}.Encode(a.Key("search", "relevance"))
	got, err := ard.DecodePageToken(tok, same.Key("search", "relevance"))
	if err != nil || got.After.ID != "agt_1" || got.After.Score != 1.5 || got.Top != 3 {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = ard.DecodePageToken(tok, other.Key("search", "relevance"))
	assertInvalid(t, err, "pageToken does not belong to this query")
	_, err = ard.DecodePageToken(tok, a.Key("list", "relevance"))
	assertInvalid(t, err, "pageToken does not belong to this query")
	for _, bad := range []string{"!!", "e30", "bm90IGpzb24", strings.Repeat("A", ard.MaxPageTokenBytes+1)} {
		_, err = ard.DecodePageToken(bad, a.Key("search", "relevance"))
		assertInvalid(t, err, "pageToken is not valid")
	}
}

func parseCard(t *testing.T, file string) *registry.AgentCard {
	t.Helper()
	data, err := os.ReadFile("testdata/cards/" + file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := agentcard.Parse(context.Background(), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &registry.AgentCard{ID: "agt_01", Slug: "x", Card: p.Card, Status: "active", SignatureStatus: "unsigned",
		UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))}
	for _, sk := range p.Card.GetSkills() {
		c.Skills = append(c.Skills, sk.GetId())
		c.Tags = append(c.Tags, sk.GetTags()...)
	}
	return c
}

func TestEntry_MapsCard(t *testing.T) {
	c := parseCard(t, "weather.json")
	c.SPIFFEID, c.AgentDID = "spiffe://example.org/agent/weather", "did:web:weather.example.com"
	e := ard.Entry(c, "urn:air:reg.test:agent:weather-agent", "https://reg.test/agents/agt_01/.well-known/agent-card.json")
	want := ard.CatalogEntry{Identifier: "urn:air:reg.test:agent:weather-agent", DisplayName: "Weather Agent", Type: ard.MediaTypeA2A,
		URL: "https://reg.test/agents/agt_01/.well-known/agent-card.json", Description: "Forecasts and live weather observations for any city.",
		Tags: []string{"weather", "forecast", "weather"}, Capabilities: []string{"forecast", "observe"},
		RepresentativeQueries: []string{"forecast for Paris", "will it rain in Seattle tomorrow", "weekend weather in Rome", "wind speed in Chicago now", "temperature in Oslo"},
		Version:               "2.1.0",
		UpdatedAt:             "2026-01-02T02:04:05.0000006Z",
		Metadata:              map[string]any{"registryId": "agt_01", "status": "active", "signature": "unsigned"},
		TrustManifest:         &ard.TrustManifest{Identity: "spiffe://example.org/agent/weather", IdentityType: "spiffe"}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got  %+v\nwant %+v", e, want)
	}
	c.SPIFFEID = ""
	if e := ard.Entry(c, "u", "x"); e.TrustManifest.IdentityType != "did" || e.TrustManifest.Identity != c.AgentDID {
		t.Fatalf("did identity: %+v", e.TrustManifest)
	}
}

func TestEntry_RepresentativeQueriesNeedTwo(t *testing.T) {
	c := parseCard(t, "recipe.json") // one example
	e := ard.Entry(c, "u", "x")
	if e.RepresentativeQueries != nil || e.TrustManifest != nil {
		t.Fatalf("got %+v", e)
	}
	if e := ard.Entry(parseCard(t, "translator.json"), "u", "x"); len(e.RepresentativeQueries) != 2 || e.Version != "0.1.0" {
		t.Fatalf("got %+v", e)
	}
}
