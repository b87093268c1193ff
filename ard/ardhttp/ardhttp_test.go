package ardhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/sovereign-stack/sovereign/ard"
	"github.com/sovereign-stack/sovereign/ard/ardhttp"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/ratelimit"
	"github.com/sovereign-stack/sovereign/registry"
)

const (
	testHost = "127.0.0.1:8420"
	testBase = "http://127.0.0.1:8420"
)

// --- the spec's schemas -----------------------------------------------------------------------

// The spec files are registered under the ai-catalog schema's own $id, so the OpenAPI document's
// "./ai-catalog.schema.json#/$defs/catalogEntry" references resolve to it.
const (
	specBase    = "https://raw.githubusercontent.com/ards-project/ard-spec/main/spec/schemas/"
	catalogURL  = specBase + "ai-catalog.schema.json"
	openapiURL  = specBase + "ard.openapi.json"
	schemaError = "#/components/schemas/Error"
)

type specSchemas struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

func loadSpec(t *testing.T) *specSchemas {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	raw, err := os.ReadFile("../testdata/ai-catalog.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(catalogURL, doc); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile("../testdata/ard.openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(y)
	if err != nil {
		t.Fatal(err)
	}
	if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(openapiURL, doc); err != nil {
		t.Fatal(err)
	}
	return &specSchemas{c: c, cache: map[string]*jsonschema.Schema{}}
}

// validate checks body against the schema at loc ("#/components/schemas/X" of the OpenAPI
// document, or "catalog" for the ai-catalog manifest, or "catalog#/$defs/…").
func (s *specSchemas) validate(t *testing.T, loc string, body []byte) {
	t.Helper()
	if err := s.check(loc, body); err != nil {
		t.Fatalf("%s does not validate: %v\nbody: %s", loc, err, body)
	}
}

func (s *specSchemas) check(loc string, body []byte) error {
	full := openapiURL + loc
	if rest, ok := strings.CutPrefix(loc, "catalog"); ok {
		full = catalogURL + rest
	}
	sch, ok := s.cache[full]
	if !ok {
		var err error
		if sch, err = s.c.Compile(full); err != nil {
			return fmt.Errorf("compile %s: %w", full, err)
		}
		s.cache[full] = sch
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func TestSpec_ExampleCatalogValidates(t *testing.T) {
	s := loadSpec(t)
	raw, err := os.ReadFile("../testdata/example-ai-catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	s.validate(t, "catalog", raw)
	// The validator is not vacuous: it rejects what the schema forbids.
	for _, bad := range []string{
		`{"specVersion":"1.0","entries":[],"next":"x"}`,
		`{"specVersion":"2.0","entries":[]}`,
		`{"specVersion":"1.0","entries":[{"identifier":"urn:air:a:agent:b","displayName":"b","type":"t","url":"https://a/b","data":{}}]}`,
		`{"specVersion":"1.0","entries":[{"identifier":"agent-b","displayName":"b","type":"t","url":"https://a/b"}]}`,
		`{"specVersion":"1.0","entries":[{"identifier":"urn:air:a:agent:b","displayName":"b","type":"t","url":"https://a/b","representativeQueries":["one"]}]}`,
		`{"specVersion":"1.0","entries":[{"identifier":"urn:air:a:agent:b","displayName":"b","type":"t","url":"https://a/b","metadata":{"x":[1]}}]}`,
	} {
		if s.check("catalog", []byte(bad)) == nil {
			t.Errorf("schema accepted %s", bad)
		}
	}
	if s.check("#/components/schemas/SearchResponse", []byte(`{"results":[{"identifier":"urn:air:a:agent:b","displayName":"b","type":"t","url":"https://a/b","score":101,"source":"https://a/"}]}`)) == nil {
		t.Error("SearchResponse accepted a score of 101")
	}
}

// --- the registry under test ------------------------------------------------------------------

type fixture struct {
	t     *testing.T
	store *memStore
	cards *registry.Cards
	srv   http.Handler
	spec  *specSchemas
	// bySlug are the created cards.
	bySlug map[string]*registry.AgentCard
}

var dev = policy.Subject{Kind: policy.KindDeveloper, ID: "dev_1", Verified: true}

// newFixture publishes the fixture cards (weather, recipe, translator) and bulk generated
// ones, loads the discovery index, and serves the ARD routes inside httpapi.Handler.
func newFixture(t *testing.T, bulk int, opts ...func(*ardhttp.Handler)) *fixture {
	t.Helper()
	ctx := context.Background()
	var tick atomic.Int64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Minute) }
	f := &fixture{t: t, store: newMemStore(), spec: loadSpec(t), bySlug: map[string]*registry.AgentCard{}}
	f.cards = registry.NewCards(registry.CardsConfig{Store: f.store, Authz: allow{}, Host: testHost, Now: now})
	for _, name := range []string{"weather.json", "recipe.json", "translator.json"} {
		data, err := os.ReadFile("../testdata/cards/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f.create(data)
	}
	for i := range bulk {
		f.create(fmt.Appendf(nil, `{"name":"Bulk Agent %04d","description":"Generated agent number %d.",
			"supportedInterfaces":[{"url":"https://bulk.example.com/%d","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
			"version":"1.0.%d","capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
			"skills":[{"id":"bulk","name":"Bulk","description":"Does bulk work.","tags":["bulk"]}]}`, i, i, i, i))
	}
	if _, err := f.cards.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	h := &ardhttp.Handler{Cards: f.cards, BaseURL: testBase + "/", HostName: "Test Registry"}
	for _, o := range opts {
		o(h)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	f.srv = httpapi.Handler(mux, slog.New(slog.DiscardHandler), httpapi.NewMetrics(prometheus.NewRegistry()))
	return f
}

func (f *fixture) create(data []byte) *registry.AgentCard {
	f.t.Helper()
	c, err := f.cards.Create(context.Background(), dev, registry.CardInput{JSON: data})
	if err != nil {
		f.t.Fatal(err)
	}
	f.bySlug[c.Slug] = c
	return c
}

type response struct {
	*httptest.ResponseRecorder
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body.Bytes(), v); err != nil {
		t.Fatalf("body %s: %v", r.Body.Bytes(), err)
	}
}

func (f *fixture) do(method, target, body string, hdr ...string) response {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var req *http.Request
	if rd != nil {
		req = httptest.NewRequest(method, target, rd)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Header().Get(httpapi.RequestIDHeader) == "" {
		f.t.Fatalf("%s %s: no X-Request-Id", method, target)
	}
	return response{rec}
}

// ok asserts a 200 whose body validates against loc, and decodes it into v.
func (f *fixture) ok(r response, loc string, v any) {
	f.t.Helper()
	if r.Code != http.StatusOK {
		f.t.Fatalf("status %d, want 200: %s", r.Code, r.Body.Bytes())
	}
	if ct := r.Header().Get("Content-Type"); ct != "application/json" {
		f.t.Fatalf("Content-Type %q", ct)
	}
	f.spec.validate(f.t, loc, r.Body.Bytes())
	r.json(f.t, v)
}

// fails asserts an ARD error: status, errorCode, a message containing want, and a body that
// validates against the spec's Error schema with nothing else in it.
func (f *fixture) fails(r response, status int, code, want string) {
	f.t.Helper()
	if r.Code != status {
		f.t.Fatalf("status %d, want %d: %s", r.Code, status, r.Body.Bytes())
	}
	f.spec.validate(f.t, schemaError, r.Body.Bytes())
	var e map[string]any
	r.json(f.t, &e)
	if len(e) != 2 || e["errorCode"] != code || !strings.Contains(fmt.Sprint(e["message"]), want) {
		f.t.Fatalf("error %v, want %s containing %q", e, code, want)
	}
}

func (f *fixture) urn(slug string) string { return "urn:air:" + testHost + ":agent:" + slug }

// --- search -----------------------------------------------------------------------------------

func TestSearch_RanksAndScores(t *testing.T) {
	f := newFixture(t, 0)
	var resp ard.SearchResponse
	f.ok(f.do("POST", "/ard/v1/search", `{"query":{"text":"weather"}}`), "#/components/schemas/SearchResponse", &resp)
	if len(resp.Results) != 2 || resp.PageToken != "" || resp.Referrals != nil {
		t.Fatalf("got %+v", resp)
	}
	first, second := resp.Results[0], resp.Results[1]
	// Relevance is absolute (0–100): the card naming the word scores high, the one mentioning
	// it in passing lower.
	if first.Identifier != f.urn("weather-agent") || first.Score < 50 || first.Score > 100 || second.Identifier != f.urn("translator") ||
		second.Score <= 0 || second.Score >= first.Score {
		t.Fatalf("ranking %s %d, %s %d", first.Identifier, first.Score, second.Identifier, second.Score)
	}
	w := f.bySlug["weather-agent"]
	if first.Source != testBase+"/ard/v1/" || first.URL != testBase+"/agents/"+w.ID+"/.well-known/agent-card.json" ||
		first.Type != ard.MediaTypeA2A || first.Metadata["registryId"] != w.ID {
		t.Fatalf("entry %+v", first)
	}
}

func TestSearch_Filters(t *testing.T) {
	f := newFixture(t, 0)
	for _, c := range []struct {
		body string
		want []string
	}{
		{`{"query":{"text":"","filter":{"tags":"cooking"}}}`, []string{"recipe-agent"}},
		{`{"query":{"text":"weather","filter":{"capabilities":["translate"]}}}`, []string{"translator"}},
		{`{"query":{"text":"","filter":{"skills":["forecast","observe"]}}}`, []string{"weather-agent"}},
		{`{"query":{"text":"","filter":{"type":"application/a2a-agent-card+json","tags":"weather"}}}`, []string{"weather-agent"}},
		{`{"query":{"text":"weather","filter":{"type":["application/mcp-server-card+json"]}}}`, nil},
		{`{"query":{"text":"","filter":{"status":"suspended"}}}`, nil},
		{`{"query":{"text":"nothing-matches-this"}}`, nil},
	} {
		t.Run(c.body, func(t *testing.T) {
			var resp ard.SearchResponse
			f.ok(f.do("POST", "/ard/v1/search", c.body), "#/components/schemas/SearchResponse", &resp)
			var got []string
			for _, r := range resp.Results {
				got = append(got, strings.TrimPrefix(r.Identifier, "urn:air:"+testHost+":agent:"))
				if r.Score < 1 || r.Score > 100 || !strings.Contains(c.body, `"text":"weather"`) && r.Score != 100 {
					t.Fatalf("result scores %d", r.Score)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestSearch_FederationModesAnswerLocally(t *testing.T) {
	f := newFixture(t, 0)
	for _, mode := range []string{"auto", "referrals", "none"} {
		var resp ard.SearchResponse
		f.ok(f.do("POST", "/ard/v1/search", `{"query":{"text":"recipes"},"federation":"`+mode+`"}`), "#/components/schemas/SearchResponse", &resp)
		if len(resp.Results) != 1 || resp.Referrals != nil {
			t.Fatalf("%s: %+v", mode, resp)
		}
	}
}

func TestSearch_PagesKeepTheScale(t *testing.T) {
	f := newFixture(t, 12)
	body := func(tok string) string {
		return `{"query":{"text":"bulk agent","filter":{"tags":"bulk"}},"pageSize":5,"pageToken":"` + tok + `"}`
	}
	seen := map[string]bool{}
	tok := ""
	pages := 0
	for {
		var resp ard.SearchResponse
		b := body(tok)
		if tok == "" {
			b = `{"query":{"text":"bulk agent","filter":{"tags":"bulk"}},"pageSize":5}`
		}
		f.ok(f.do("POST", "/ard/v1/search", b), "#/components/schemas/SearchResponse", &resp)
		pages++
		for _, r := range resp.Results {
			if seen[r.Identifier] {
				t.Fatalf("%s twice", r.Identifier)
			}
			seen[r.Identifier] = true
		}
		if resp.PageToken == "" {
			break
		}
		tok = resp.PageToken
	}
	if len(seen) != 12 || pages != 3 {
		t.Fatalf("%d results over %d pages", len(seen), pages)
	}
	// A token continues only its own query.
	f.fails(f.do("POST", "/ard/v1/search", `{"query":{"text":"bulk"},"pageToken":"`+tok+`"}`), 400, "INVALID_ARGUMENT", "pageToken does not belong to this query")
	f.fails(f.do("POST", "/ard/v1/search", `{"query":{"text":"bulk"},"pageToken":"garbage!"}`), 400, "INVALID_ARGUMENT", "pageToken is not valid")
	// The same query with whitespace and case changed is the same query.
	var resp ard.SearchResponse
	f.ok(f.do("POST", "/ard/v1/search", `{"query":{"text":"  BULK   agent ","filter":{"tags":["bulk"]}},"pageSize":5,"pageToken":"`+tok+`"}`),
		"#/components/schemas/SearchResponse", &resp)
}

func TestSearch_RejectsBadInput(t *testing.T) {
	f := newFixture(t, 0)
	for _, c := range []struct{ body, want string }{
		{`{"query":{"text":"a"},"extra":true}`, `unknown field "extra"`},
		{`{"query":{"text":"a","filter":{"vendor":"acme"}}}`, `unknown filter field "vendor"`},
		{`{"query":{}}`, `field "query.text" is required`},
		{`{"query":{"text":"a"},"federation":"everywhere"}`, "federation must be one of"},
		{`{"query":{"text":"a"},"pageSize":-1}`, "pageSize must be at least 1"},
		{`{"query":{"text":"a"`, "not valid JSON"},
		{``, "the request body is empty"},
		{`{"query":{"text":"a","filter":{"tags":["` + strings.Repeat("x", 300) + `"]}}}`, "values must be 1 to 256 bytes"},
	} {
		t.Run(c.body, func(t *testing.T) {
			f.fails(f.do("POST", "/ard/v1/search", c.body), 400, "INVALID_ARGUMENT", c.want)
		})
	}
	r := f.do("POST", "/ard/v1/search", `{"query":{"text":"a"}}`, "Content-Type", "text/plain")
	f.fails(r, 400, "INVALID_ARGUMENT", "send the body as application/json")
	big := `{"query":{"text":"` + strings.Repeat(" ", ard.MaxBodyBytes) + `a"}}`
	f.fails(f.do("POST", "/ard/v1/search", big), 413, "PAYLOAD_TOO_LARGE", "larger than 65536 bytes")
}

func TestSearch_StoreFailureIsInternal(t *testing.T) {
	f := newFixture(t, 0)
	f.store.failCards = errors.New("disk on fire")
	r := f.do("POST", "/ard/v1/search", `{"query":{"text":"weather"}}`)
	f.fails(r, 500, "INTERNAL", "internal error")
	if strings.Contains(r.Body.String(), "fire") {
		t.Fatal("the cause leaked")
	}
}

// --- explore ----------------------------------------------------------------------------------

func TestExplore_CountsFacets(t *testing.T) {
	f := newFixture(t, 3)
	var resp ard.ExploreResponse
	f.ok(f.do("POST", "/ard/v1/explore", `{"resultType":{"facets":[{"field":"tags"},{"field":"type"},{"field":"status"},{"field":"capabilities","limit":2}]}}`),
		"#/components/schemas/ExploreResponse", &resp)
	if resp.ResultType != "facets" {
		t.Fatalf("resultType %q", resp.ResultType)
	}
	if got := resp.Facets["type"]; len(got.Buckets) != 1 || got.Buckets[0] != (ard.Bucket{Value: ard.MediaTypeA2A, Count: 6}) {
		t.Fatalf("type %+v", got)
	}
	if got := resp.Facets["status"]; len(got.Buckets) != 1 || got.Buckets[0] != (ard.Bucket{Value: "active", Count: 6}) {
		t.Fatalf("status %+v", got)
	}
	if got := resp.Facets["tags"]; got.Buckets[0] != (ard.Bucket{Value: "bulk", Count: 3}) || len(got.Buckets) != 7 {
		t.Fatalf("tags %+v", got)
	}
	// capabilities: bulk 3, then forecast, find-recipe, observe, translate 1 each; limit 2.
	if got := resp.Facets["capabilities"]; len(got.Buckets) != 2 || got.Buckets[0].Value != "bulk" || got.OtherCount != 3 {
		t.Fatalf("capabilities %+v", got)
	}
}

func TestExplore_QueryNarrowsAndMinCount(t *testing.T) {
	f := newFixture(t, 3)
	var resp ard.ExploreResponse
	f.ok(f.do("POST", "/ard/v1/explore", `{"query":{"text":"weather"},"resultType":{"facets":[{"field":"tags","minCount":2},{"field":"skills"}]}}`),
		"#/components/schemas/ExploreResponse", &resp)
	// weather-agent (weather, forecast) and translator (language, translation) match.
	if got := resp.Facets["tags"]; len(got.Buckets) != 0 || got.OtherCount != 4 {
		t.Fatalf("tags %+v", got)
	}
	if got := resp.Facets["skills"]; len(got.Buckets) != 3 {
		t.Fatalf("skills %+v", got)
	}
	f.ok(f.do("POST", "/ard/v1/explore", `{"query":{"filter":{"type":"application/mcp-server-card+json"}},"resultType":{"facets":[{"field":"type"}]}}`),
		"#/components/schemas/ExploreResponse", &resp)
	if got := resp.Facets["type"]; len(got.Buckets) != 0 {
		t.Fatalf("type %+v", got)
	}
}

func TestExplore_RejectsBadInput(t *testing.T) {
	f := newFixture(t, 0)
	for _, c := range []struct{ body, want string }{
		{`{"resultType":{"facets":[{"field":"trustManifest.attestations.type"}]}}`, `unknown facet field "trustManifest.attestations.type"`},
		{`{"resultType":{"facets":[{"field":"tags","order":"asc"}]}}`, `unknown field "resultType.facets[0].order"`},
		{`{"query":{"text":"x"}}`, `field "resultType" is required`},
		{`{"resultType":{"facets":[]},"query":{"filter":{"owner":"x"}}}`, `unknown filter field "owner"`},
	} {
		t.Run(c.body, func(t *testing.T) {
			f.fails(f.do("POST", "/ard/v1/explore", c.body), 400, "INVALID_ARGUMENT", c.want)
		})
	}
}

func TestExplore_IndexLoadingIsUnavailable(t *testing.T) {
	cards := registry.NewCards(registry.CardsConfig{Store: newMemStore(), Authz: allow{}, Host: testHost})
	mux := http.NewServeMux()
	(&ardhttp.Handler{Cards: cards, BaseURL: testBase}).Register(mux)
	f := &fixture{t: t, spec: loadSpec(t), srv: mux}
	f.fails(f.do("POST", "/ard/v1/explore", `{"resultType":{"facets":[{"field":"tags"}]}}`), 503, "UNAVAILABLE", "still loading")
}

// --- list -------------------------------------------------------------------------------------

func TestList_PagesInRegistrationOrder(t *testing.T) {
	f := newFixture(t, 7)
	var all []string
	tok := ""
	for range 20 {
		target := "/ard/v1/agents?pageSize=3"
		if tok != "" {
			target += "&pageToken=" + url.QueryEscape(tok)
		}
		var resp ard.ListResponse
		f.ok(f.do("GET", target, ""), "#/components/schemas/ListResponse", &resp)
		for _, e := range resp.Items {
			all = append(all, e.Metadata["registryId"].(string))
		}
		if tok = resp.PageToken; tok == "" {
			break
		}
	}
	if len(all) != 10 {
		t.Fatalf("listed %d cards", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1] >= all[i] {
			t.Fatalf("not in registration order: %v", all)
		}
	}
	var resp ard.ListResponse
	f.ok(f.do("GET", "/ard/v1/agents", ""), "#/components/schemas/ListResponse", &resp)
	if len(resp.Items) != 10 || resp.PageToken != "" {
		t.Fatalf("default page: %d items, token %q", len(resp.Items), resp.PageToken)
	}
}

func TestList_Filter(t *testing.T) {
	f := newFixture(t, 2)
	f.store.set(f.bySlug["recipe-agent"].ID, func(c *registry.AgentCard) { c.Status = discovery.StatusSuspended })
	if _, err := f.cards.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	translator := f.bySlug["translator"].UpdatedAt
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"tags = 'weather'", []string{"weather-agent"}},
		{"capabilities = 'bulk' AND type = 'application/a2a-agent-card+json'", []string{"bulk-agent-0000", "bulk-agent-0001"}},
		{"status = 'suspended'", []string{"recipe-agent"}},
		{"type = 'application/mcp-server-card+json'", nil},
		{"updatedAt > '" + translator.Add(-time.Second).Format(time.RFC3339) + "' AND updatedAt < '" + translator.Add(time.Second).Format(time.RFC3339) + "'", []string{"translator"}},
		{"updatedAt > '" + translator.Format(time.RFC3339Nano) + "'", []string{"bulk-agent-0000", "bulk-agent-0001"}},
	} {
		t.Run(c.filter, func(t *testing.T) {
			var resp ard.ListResponse
			f.ok(f.do("GET", "/ard/v1/agents?filter="+url.QueryEscape(c.filter), ""), "#/components/schemas/ListResponse", &resp)
			var got []string
			for _, e := range resp.Items {
				got = append(got, strings.TrimPrefix(e.Identifier, "urn:air:"+testHost+":agent:"))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestList_UpdatedAtPagesAcrossDiscoveryPages(t *testing.T) {
	f := newFixture(t, 9)
	from := f.bySlug["bulk-agent-0002"].UpdatedAt
	filter := url.QueryEscape("updatedAt > '" + from.Format(time.RFC3339Nano) + "'")
	var got []string
	tok := ""
	for range 10 {
		var resp ard.ListResponse
		f.ok(f.do("GET", "/ard/v1/agents?pageSize=2&filter="+filter+"&pageToken="+url.QueryEscape(tok), ""), "#/components/schemas/ListResponse", &resp)
		for _, e := range resp.Items {
			got = append(got, strings.TrimPrefix(e.Identifier, "urn:air:"+testHost+":agent:bulk-agent-"))
		}
		if tok = resp.PageToken; tok == "" {
			break
		}
	}
	if strings.Join(got, ",") != "0003,0004,0005,0006,0007,0008" {
		t.Fatalf("got %v", got)
	}
}

func TestList_RejectsBadInput(t *testing.T) {
	f := newFixture(t, 3)
	var first ard.ListResponse
	f.ok(f.do("GET", "/ard/v1/agents?pageSize=1", ""), "#/components/schemas/ListResponse", &first)
	for _, c := range []struct{ query, want string }{
		{"filter=" + url.QueryEscape("type = MCP"), "values are quoted"},
		{"filter=" + url.QueryEscape("owner = 'me'"), `unknown filter field "owner"`},
		{"filter=" + url.QueryEscape("tags = 'a' OR tags = 'b'"), "OR is not supported"},
		{"orderBy=displayName", `orderBy "displayName" is not supported`},
		{"orderBy=" + url.QueryEscape("updatedAt DESC"), "is not supported"},
		{"pageSize=101", "pageSize must be an integer between 1 and 100"},
		{"pageSize=ten", "pageSize must be an integer"},
		{"pageToken=nope", "pageToken is not valid"},
		{"pageSize=1&filter=" + url.QueryEscape("tags = 'bulk'") + "&pageToken=" + url.QueryEscape(first.PageToken), "pageToken does not belong to this query"},
	} {
		t.Run(c.query, func(t *testing.T) {
			f.fails(f.do("GET", "/ard/v1/agents?"+c.query, ""), 400, "INVALID_ARGUMENT", c.want)
		})
	}
	// A search token does not continue a listing.
	var s ard.SearchResponse
	f.ok(f.do("POST", "/ard/v1/search", `{"query":{"text":""},"pageSize":1}`), "#/components/schemas/SearchResponse", &s)
	f.fails(f.do("GET", "/ard/v1/agents?pageToken="+url.QueryEscape(s.PageToken), ""), 400, "INVALID_ARGUMENT", "pageToken does not belong to this query")
}

func TestList_ETag(t *testing.T) {
	f := newFixture(t, 0)
	r := f.do("GET", "/ard/v1/agents", "")
	etag := r.Header().Get("ETag")
	if etag == "" || r.Header().Get("Cache-Control") == "" {
		t.Fatalf("headers %v", r.Header())
	}
	if r := f.do("GET", "/ard/v1/agents", "", "If-None-Match", etag); r.Code != http.StatusNotModified || r.Body.Len() != 0 {
		t.Fatalf("status %d, body %q", r.Code, r.Body.String())
	}
}

// --- one agent --------------------------------------------------------------------------------

func TestAgent_ByURN(t *testing.T) {
	f := newFixture(t, 0)
	w := f.bySlug["weather-agent"]
	f.store.set(w.ID, func(c *registry.AgentCard) { c.SPIFFEID = "spiffe://sovereign.test/agent/" + c.ID })
	var e ard.CatalogEntry
	f.ok(f.do("GET", "/ard/v1/agents/"+f.urn("weather-agent"), ""), "catalog#/$defs/catalogEntry", &e)
	if e.Identifier != f.urn("weather-agent") || e.TrustManifest == nil || e.TrustManifest.IdentityType != "spiffe" ||
		len(e.RepresentativeQueries) != 5 || e.Version != "2.1.0" || e.Metadata["status"] != "active" {
		t.Fatalf("entry %+v", e)
	}
	// Escaped, and with the scheme in upper case, it is the same URN.
	f.ok(f.do("GET", "/ard/v1/agents/"+url.PathEscape("URN:AIR:"+testHost+":agent:weather-agent"), ""), "catalog#/$defs/catalogEntry", &e)
	// A suspended card is still found, with its status.
	f.store.set(w.ID, func(c *registry.AgentCard) { c.Status = discovery.StatusSuspended })
	f.ok(f.do("GET", "/ard/v1/agents/"+f.urn("weather-agent"), ""), "catalog#/$defs/catalogEntry", &e)
	if e.Metadata["status"] != "suspended" {
		t.Fatalf("status %v", e.Metadata["status"])
	}
	r := f.do("GET", "/ard/v1/agents/"+f.urn("recipe-agent"), "")
	if r.Header().Get("ETag") == "" {
		t.Fatal("no ETag")
	}
	if r := f.do("GET", "/ard/v1/agents/"+f.urn("recipe-agent"), "", "If-None-Match", r.Header().Get("ETag")); r.Code != 304 {
		t.Fatalf("status %d", r.Code)
	}
}

func TestAgent_Failures(t *testing.T) {
	f := newFixture(t, 0)
	f.fails(f.do("GET", "/ard/v1/agents/"+f.urn("nobody"), ""), 404, "NOT_FOUND", "no agent urn:air:"+testHost+":agent:nobody in this registry")
	f.fails(f.do("GET", "/ard/v1/agents/urn:air:elsewhere.example:agent:weather-agent", ""), 404, "NOT_FOUND", "in this registry")
	f.fails(f.do("GET", "/ard/v1/agents/weather-agent", ""), 400, "INVALID_ARGUMENT", "is not an agent URN")
	f.fails(f.do("GET", "/ard/v1/agents/urn:air:"+testHost+":server:weather-agent", ""), 400, "INVALID_ARGUMENT", "is not an agent URN")
	f.fails(f.do("GET", "/ard/v1/agents/urn:air:"+testHost+":agent:", ""), 400, "INVALID_ARGUMENT", "is not an agent URN")
	// A deleted card is gone.
	if err := f.cards.Delete(context.Background(), dev, f.bySlug["recipe-agent"].ID); err != nil {
		t.Fatal(err)
	}
	f.fails(f.do("GET", "/ard/v1/agents/"+f.urn("recipe-agent"), ""), 404, "NOT_FOUND", "no agent")
}

// --- the manifest -----------------------------------------------------------------------------

func TestManifest_ListsActiveCards(t *testing.T) {
	f := newFixture(t, 0)
	f.store.set(f.bySlug["recipe-agent"].ID, func(c *registry.AgentCard) { c.Status = discovery.StatusRevoked })
	if _, err := f.cards.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var m ard.Manifest
	r := f.do("GET", "/.well-known/ai-catalog.json", "")
	f.ok(r, "catalog", &m)
	if m.SpecVersion != "1.0" || m.Host == nil || m.Host.DisplayName != "Test Registry" || m.Host.Identifier != testBase || len(m.Entries) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	if r.Header().Get("Link") != "" || !strings.Contains(r.Header().Get("Cache-Control"), "max-age") {
		t.Fatalf("headers %v", r.Header())
	}
	if r2 := f.do("GET", "/.well-known/ai-catalog.json", "", "If-None-Match", r.Header().Get("ETag")); r2.Code != http.StatusNotModified {
		t.Fatalf("status %d", r2.Code)
	}
	// HEAD answers like GET without a body.
	if r := f.do("HEAD", "/.well-known/ai-catalog.json", ""); r.Code != 200 {
		t.Fatalf("HEAD %d", r.Code)
	}
	f.fails(f.do("GET", "/.well-known/ai-catalog.json?pageToken=zzz", ""), 400, "INVALID_ARGUMENT", "pageToken is not valid")
}

func TestManifest_PagesByLinkHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 1,000 cards")
	}
	f := newFixture(t, ard.MaxManifestEntries+7)
	var m ard.Manifest
	r := f.do("GET", "/.well-known/ai-catalog.json", "")
	f.ok(r, "catalog", &m)
	link := r.Header().Get("Link")
	next, ok := strings.CutPrefix(link, "<"+testBase)
	if len(m.Entries) != ard.MaxManifestEntries || !ok || !strings.HasSuffix(next, `>; rel="next"`) {
		t.Fatalf("%d entries, Link %q", len(m.Entries), link)
	}
	next = strings.TrimSuffix(next, `>; rel="next"`)
	var m2 ard.Manifest
	r = f.do("GET", next, "")
	f.ok(r, "catalog", &m2)
	if len(m2.Entries) != 10 || r.Header().Get("Link") != "" {
		t.Fatalf("second page: %d entries, Link %q", len(m2.Entries), r.Header().Get("Link"))
	}
	seen := map[string]bool{}
	for _, e := range append(m.Entries, m2.Entries...) {
		if seen[e.Identifier] {
			t.Fatalf("%s twice", e.Identifier)
		}
		seen[e.Identifier] = true
	}
}

// --- conventions ------------------------------------------------------------------------------

func TestRateLimit_IsResourceExhausted(t *testing.T) {
	limits := &httpapi.RateLimits{Limiter: ratelimit.NewMemory(), Classes: map[string]ratelimit.Limit{
		httpapi.RateDefault: {Rate: 2, Period: time.Minute, Burst: 2}}}
	f := newFixture(t, 0, func(h *ardhttp.Handler) { h.Limits = limits })
	for range 2 {
		if r := f.do("GET", "/.well-known/ai-catalog.json", ""); r.Code != 200 {
			t.Fatalf("status %d", r.Code)
		}
	}
	r := f.do("POST", "/ard/v1/search", `{"query":{"text":"x"}}`)
	f.fails(r, 429, "RESOURCE_EXHAUSTED", "too many requests")
	if r.Header().Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another client has its own budget.
	req := httptest.NewRequest("GET", "/ard/v1/agents", nil)
	req.RemoteAddr = "192.0.2.9:4000"
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("other client: %d", rec.Code)
	}
}

func TestRoutes_UnmatchedAreARDErrors(t *testing.T) {
	f := newFixture(t, 0)
	r := f.do("GET", "/ard/v1/search", "")
	f.fails(r, 400, "INVALID_ARGUMENT", "use POST")
	if r.Header().Get("Allow") != "POST" {
		t.Fatalf("Allow %q", r.Header().Get("Allow"))
	}
	f.fails(f.do("DELETE", "/ard/v1/agents/"+f.urn("translator"), ""), 400, "INVALID_ARGUMENT", "use GET")
	f.fails(f.do("GET", "/ard/v1/registries", ""), 404, "NOT_FOUND", "no ARD route")
	f.fails(f.do("GET", "/ard/v1/agents/", ""), 404, "NOT_FOUND", "no ARD route")
}

func TestRoutes_RequestIDWithoutMiddleware(t *testing.T) {
	f := newFixture(t, 0)
	mux := http.NewServeMux()
	(&ardhttp.Handler{Cards: f.cards}).Register(mux)
	f.srv = mux // do() asserts the X-Request-Id header
	var m ard.Manifest
	// Without BaseURL the request's own origin is the base.
	f.ok(f.do("GET", "/.well-known/ai-catalog.json", ""), "catalog", &m)
	if m.Host.DisplayName != testHost || !strings.HasPrefix(m.Entries[0].URL, "http://example.com/agents/") {
		t.Fatalf("manifest %+v", m)
	}
}
