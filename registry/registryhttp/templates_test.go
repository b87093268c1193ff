package registryhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registryhttp"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// tokenAuth authenticates fixed bearer tokens (the test's stand-in for the server's
// authenticator, which the lead wires in server.go).
type tokenAuth map[string]policy.Subject

var errBadToken = apperr.New(apperr.Unauthenticated, "INVALID_TOKEN", "the access token is not valid")

func (a tokenAuth) AuthenticateAccessToken(_ context.Context, token string) (policy.Subject, error) {
	if s, ok := a[token]; ok {
		return s, nil
	}
	return policy.Subject{}, errBadToken
}

func (a tokenAuth) AuthenticateAPIKey(ctx context.Context, key string) (policy.Subject, error) {
	return a.AuthenticateAccessToken(ctx, key)
}

type harness struct {
	t   *testing.T
	url string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	db := storetest.SQLite(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	auth := tokenAuth{}
	accounts := registrysql.NewAccounts(db)
	for _, d := range []struct {
		token, id string
		role      registry.Role
	}{{"alice", "dev_alice", registry.RoleDeveloper}, {"bob", "dev_bob", registry.RoleDeveloper}, {"admin", "dev_admin", registry.RoleAdmin}} {
		if err := accounts.InsertDeveloper(ctx, &registry.Developer{ID: d.id, Email: d.id + "@example.com", Name: d.id, Role: d.role,
			PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		roles := []string{policy.RoleDeveloper}
		if d.role == registry.RoleAdmin {
			roles = append(roles, policy.RoleAdmin)
		}
		auth[d.token] = policy.Subject{Kind: policy.KindDeveloper, ID: d.id, Roles: roles, AuthMethod: policy.AuthSession,
			Scopes: []string{policy.ScopeRead, policy.ScopeWrite}, Verified: true}
	}
	svc, err := registry.NewTemplates(registry.TemplatesConfig{Store: registrysql.NewTemplates(db), Authz: policy.New()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "test", "0")
	metrics := httpapi.NewMetrics(prometheus.NewRegistry())
	api.UseMiddleware(httpapi.Authenticate(auth, metrics))
	(&registryhttp.Templates{Service: svc}).Register(api)
	srv := httptest.NewServer(httpapi.Handler(mux, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics))
	t.Cleanup(srv.Close)
	return &harness{t: t, url: srv.URL}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (h *harness) do(method, path, token, body string, headers ...string) response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			h.t.Fatalf("%s %s: body is not a JSON object: %s", method, path, raw)
		}
	}
	return out
}

func (r response) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (h *harness) want(r response, status int, code string) {
	h.t.Helper()
	if r.status != status || r.code() != code {
		h.t.Fatalf("got %d %q, want %d %q: %s", r.status, r.code(), status, code, r.raw)
	}
}

const testCard = `{"name":"${name}","description":"d","version":"1","supportedInterfaces":[{"url":"http://localhost:9000/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
	"capabilities":{"streaming":false},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
	"skills":[{"id":"s","name":"S","description":"d","tags":"${tags}"}]}`

func templateJSON(name, description string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "description": description, "kind": "echo",
		"parameters": []any{
			map[string]any{"name": "name", "type": "string", "required": true},
			map[string]any{"name": "tags", "type": "string_list", "default": []any{"t"}},
		},
		"card": json.RawMessage(testCard)})
	return string(b)
}

func TestTemplatesHTTP_ReadAndRenderBuiltins(t *testing.T) {
	h := newHarness(t)
	list := h.do("GET", "/api/v1/templates?limit=2", "", "")
	h.want(list, 200, "")
	items := list.body["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["name"] != "echo-agent" || list.body["next_cursor"] == nil {
		t.Fatalf("page 1: %s", list.raw)
	}
	next := h.do("GET", "/api/v1/templates?limit=2&cursor="+list.body["next_cursor"].(string), "", "")
	if items := next.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "tool-agent" {
		t.Fatalf("page 2: %s", next.raw)
	}
	h.want(h.do("GET", "/api/v1/templates?cursor=garbage", "", ""), 422, "INVALID_CURSOR")
	h.want(h.do("GET", "/api/v1/templates", "", "", "If-None-Match", list.header.Get("ETag")), 200, "") // a different page

	got := h.do("GET", "/api/v1/templates/llm-agent", "", "")
	h.want(got, 200, "")
	if got.body["builtin"] != true || got.body["kind"] != "llm" || got.header.Get("ETag") == "" {
		t.Fatalf("get: %s", got.raw)
	}
	if r := h.do("GET", "/api/v1/templates/llm-agent", "", "", "If-None-Match", got.header.Get("ETag")); r.status != 304 {
		t.Fatalf("If-None-Match: %d", r.status)
	}
	h.want(h.do("GET", "/api/v1/templates/absent", "", ""), 404, "TEMPLATE_NOT_FOUND")

	r := h.do("POST", "/api/v1/templates/echo-agent/render", "", `{"parameters":{"name":"\"},\"x\":\"","tags":["a"]}}`)
	h.want(r, 200, "")
	card, _ := json.Marshal(r.body["card"])
	p, err := agentcard.Parse(context.Background(), card, nil)
	if err != nil || p.Card.GetName() != `"},"x":"` {
		t.Fatalf("rendered card: %v, %s", err, card)
	}
	h.want(h.do("POST", "/api/v1/templates/echo-agent/render", "", `{}`), 200, "")
	h.want(h.do("POST", "/api/v1/templates/echo-agent/render", "", `{"parameters":{"nope":1}}`), 422, "UNKNOWN_PARAMETER")
	h.want(h.do("POST", "/api/v1/templates/echo-agent/render", "", `{"parameters":{"tags":"x"}}`), 422, "INVALID_PARAMETER")
	h.want(h.do("POST", "/api/v1/templates/echo-agent/render", "", `{"parameters":{"url":"ftp://x"}}`), 422, "INVALID_PARAMETER")
	h.want(h.do("POST", "/api/v1/templates/absent/render", "", `{}`), 404, "TEMPLATE_NOT_FOUND")
	if r := h.do("POST", "/api/v1/templates/echo-agent/render", "", `{"parameters":`); r.status != 400 {
		t.Fatalf("malformed body: %d %s", r.status, r.raw)
	}
}

func TestTemplatesHTTP_WriteLifecycle(t *testing.T) {
	h := newHarness(t)
	body := templateJSON("mine", "Mine.")

	// Create.
	h.want(h.do("POST", "/api/v1/templates", "", body), 401, "AUTHENTICATION_REQUIRED")
	h.want(h.do("POST", "/api/v1/templates", "wrong", body), 401, "INVALID_TOKEN")
	h.want(h.do("POST", "/api/v1/templates", "alice", templateJSON("echo-agent", "x")), 409, "TEMPLATE_EXISTS")
	h.want(h.do("POST", "/api/v1/templates", "alice", templateJSON("Bad", "x")), 422, "INVALID_TEMPLATE_NAME")
	h.want(h.do("POST", "/api/v1/templates", "alice", strings.Replace(body, `"kind":"echo"`, `"kind":"rust"`, 1)), 422, "INVALID_KIND")
	h.want(h.do("POST", "/api/v1/templates", "alice", strings.Replace(body, `${tags}`, `${other}`, 1)), 422, "UNDECLARED_PLACEHOLDER")
	h.want(h.do("POST", "/api/v1/templates", "alice", strings.Replace(body, `"string_list"`, `"date"`, 1)), 422, "INVALID_PARAMETER_DEFINITION")
	if r := h.do("POST", "/api/v1/templates", "alice", strings.Replace(body, `"kind"`, `"unknown":1,"kind"`, 1)); r.status/100 != 4 {
		t.Fatalf("unknown field: %d", r.status)
	}
	created := h.do("POST", "/api/v1/templates", "alice", body)
	h.want(created, 201, "")
	if created.body["owner_id"] != "dev_alice" || created.body["version"] != 1.0 || created.body["builtin"] != false {
		t.Fatalf("created: %s", created.raw)
	}
	h.want(h.do("POST", "/api/v1/templates", "bob", body), 409, "TEMPLATE_EXISTS")
	h.want(h.do("POST", "/api/v1/templates/mine/render", "", `{}`), 422, "MISSING_PARAMETER")
	h.want(h.do("POST", "/api/v1/templates/mine/render", "", `{"parameters":{"name":"N"}}`), 200, "")

	// Update.
	etag := h.do("GET", "/api/v1/templates/mine", "", "").header.Get("ETag")
	upd := templateJSON("", "Changed.")
	h.want(h.do("PUT", "/api/v1/templates/mine", "", upd), 401, "AUTHENTICATION_REQUIRED")
	h.want(h.do("PUT", "/api/v1/templates/mine", "bob", upd), 403, "FORBIDDEN")
	h.want(h.do("PUT", "/api/v1/templates/echo-agent", "admin", upd), 403, "TEMPLATE_READ_ONLY")
	h.want(h.do("PUT", "/api/v1/templates/absent", "alice", upd), 404, "TEMPLATE_NOT_FOUND")
	h.want(h.do("PUT", "/api/v1/templates/mine", "alice", templateJSON("other", "x")), 422, "INVALID_TEMPLATE_NAME")
	h.want(h.do("PUT", "/api/v1/templates/mine", "alice", upd, "If-Match", `"stale"`), 409, "TEMPLATE_VERSION_MISMATCH")
	u := h.do("PUT", "/api/v1/templates/mine", "alice", upd, "If-Match", etag)
	h.want(u, 200, "")
	if u.body["version"] != 2.0 || u.body["description"] != "Changed." {
		t.Fatalf("updated: %s", u.raw)
	}
	h.want(h.do("PUT", "/api/v1/templates/mine", "alice", upd, "If-Match", etag), 409, "TEMPLATE_VERSION_MISMATCH")
	h.want(h.do("PUT", "/api/v1/templates/mine", "admin", upd), 200, "")

	// Delete.
	h.want(h.do("DELETE", "/api/v1/templates/mine", "", ""), 401, "AUTHENTICATION_REQUIRED")
	h.want(h.do("DELETE", "/api/v1/templates/mine", "bob", ""), 403, "FORBIDDEN")
	h.want(h.do("DELETE", "/api/v1/templates/tool-agent", "alice", ""), 403, "TEMPLATE_READ_ONLY")
	if r := h.do("DELETE", "/api/v1/templates/mine", "alice", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	h.want(h.do("DELETE", "/api/v1/templates/mine", "alice", ""), 404, "TEMPLATE_NOT_FOUND")
	h.want(h.do("GET", "/api/v1/templates/mine", "", ""), 404, "TEMPLATE_NOT_FOUND")
}
