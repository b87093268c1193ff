package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/redistest"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func TestOperationalEndpoints(t *testing.T) {
	s := newStack(t, storetest.SQLite(t))
	s.do("GET", "/healthz", nil).want(t, 200, "")
	r := s.do("GET", "/readyz", nil).want(t, 200, "")
	if r.str("status") != "ready" {
		t.Fatalf("readyz = %s", r.Raw)
	}

	s.do("GET", "/api/v1/developers/me", nil)              // produce a sample for a templated route
	s.do("GET", "/metrics", nil).want(t, 404, "NOT_FOUND") // not on the public listener (no metrics.token)
	m := s.metricsListener().do("GET", "/metrics", nil).want(t, 200, "")
	for _, want := range []string{`sovereign_http_requests_total{code="401",method="GET",route="/api/v1/developers/me"}`, "sovereign_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(string(m.Raw), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}

	o := s.do("GET", "/openapi.json", nil).want(t, 200, "")
	if o.str("openapi") != "3.1.0" {
		t.Fatalf("openapi version %v", o.Body["openapi"])
	}
	paths := o.Body["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/recover",
		"/api/v1/auth/verify-email", "/api/v1/developers/me", "/api/v1/developers/me/api-keys", "/api/v1/developers/me/api-keys/{id}", "/api/v1/developers",
		"/api/v1/reputation/{agent}", "/api/v1/reputation/{agent}/ratings", "/api/v1/admin/reputation:recompute"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	// The routes served by plain handlers are described too, with their responses.
	for p, method := range map[string]string{"/ard/v1/search": "post", "/ard/v1/explore": "post", "/ard/v1/agents": "get",
		"/ard/v1/agents/{urn}": "get", "/.well-known/ai-catalog.json": "get", "/.well-known/spiffe-bundle": "get",
		"/agents/{id}/.well-known/agent-card.json": "get", "/healthz": "get", "/readyz": "get", "/metrics": "get"} {
		item, _ := paths[p].(map[string]any)
		op, _ := item[method].(map[string]any)
		if op == nil {
			t.Errorf("OpenAPI lacks %s %s", method, p)
			continue
		}
		if resp, _ := op["responses"].(map[string]any); len(resp) == 0 {
			t.Errorf("OpenAPI: %s %s has no responses", method, p)
		}
	}
	search := paths["/ard/v1/search"].(map[string]any)["post"].(map[string]any)
	if search["requestBody"] == nil || search["responses"].(map[string]any)["400"] == nil {
		t.Errorf("OpenAPI: the ARD search has no request body or 400: %v", search)
	}
	if params, _ := paths["/ard/v1/agents/{urn}"].(map[string]any)["get"].(map[string]any)["parameters"].([]any); len(params) != 1 {
		t.Errorf("OpenAPI: the {urn} parameter is not declared: %v", params)
	}
	schemas := o.Body["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"SearchRequest", "SearchResponse", "Manifest", "ReadyBody"} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("OpenAPI lacks the %s schema; has %v", name, keys(schemas))
		}
	}
	if _, ok := schemas["Envelope"]; !ok {
		t.Errorf("OpenAPI lacks the Envelope error schema; has %v", keys(schemas))
	}

	p := s.do("GET", "/portal/", nil).want(t, 200, "")
	if !strings.Contains(string(p.Raw), "Sovereign Stack") || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("portal: %s", p.Raw)
	}
	if got := s.do("GET", "/", nil); got.Status != 200 || !strings.Contains(string(got.Raw), "<html") {
		t.Fatalf("/ does not lead to the portal: %d", got.Status)
	}
	// The portal answers a person: a page, not an envelope.
	if res, err := http.Get(s.srv.URL + "/portal/nope"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 404 || !strings.Contains(string(body), "There is no such page") {
			t.Fatalf("GET /portal/nope: %d %s", res.StatusCode, body)
		}
	}
	s.do("GET", "/no/such/route", nil).want(t, 404, "NOT_FOUND")
	s.do("DELETE", "/healthz", nil).want(t, 405, "METHOD_NOT_ALLOWED")

	// Request ids: accepted when well-formed, echoed in header, envelope and log.
	r = s.do("GET", "/api/v1/developers/me", nil, hdr{"X-Request-Id", "trace-abc.123"})
	if r.Header.Get("X-Request-Id") != "trace-abc.123" {
		t.Fatalf("request id not echoed: %q", r.Header.Get("X-Request-Id"))
	}
	r = s.do("GET", "/healthz", nil, hdr{"X-Request-Id", "bad id with spaces"})
	if id := r.Header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Fatalf("malformed request id kept: %q", id)
	}
	found := false
	for _, line := range strings.Split(s.logText(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" && l["request_id"] == "trace-abc.123" {
			found = l["route"] == "/api/v1/developers/me" && l["status"] == float64(401) && l["error_code"] == "AUTHENTICATION_REQUIRED"
		}
	}
	if !found {
		t.Fatalf("no access log line for trace-abc.123 with route, status and error_code:\n%s", s.logText())
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRedisRateLimits_AreSharedByReplicas runs two stacks (replicas) on one database and one
// Redis: login attempts on one count against the other.
func TestRedisRateLimits_AreSharedByReplicas(t *testing.T) {
	url := redistest.URL(t, "Redis-backed rate limits")
	db := storetest.SQLite(t)
	withRedis := func(c *config.Config) { c.Redis = url }
	a := newStack(t, db, withRedis)
	b := newStack(t, db, withRedis)
	// Unique per run: the limits live in a Redis other runs (and earlier ones) share.
	email := fmt.Sprintf("shared%s%d@example.com", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "")), time.Now().UnixNano())
	a.register(email, true)
	ctx := context.Background()
	_ = ctx
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		r := s.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong wrong wrong"})
		if r.Status == 429 {
			r.want(t, 429, "RATE_LIMITED")
			limited = true
		}
	}
	if !limited {
		t.Fatal("alternating replicas were never limited: limits are not shared")
	}
	r := b.do("GET", "/readyz", nil).want(t, 200, "")
	if r.Body["checks"].(map[string]any)["redis"] != "ok" {
		t.Fatalf("readyz = %s", r.Raw)
	}
}
