package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/ratelimit"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLines decodes every JSON line written to the buffer.
func (b *syncBuffer) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, l)
		}
		lines = append(lines, m)
	}
	return lines
}

// accessLine returns the access log line ("msg":"request") of the request with id.
func (b *syncBuffer) accessLine(t *testing.T, id string) map[string]any {
	t.Helper()
	for _, l := range b.logLines(t) {
		if l["msg"] == "request" && l["request_id"] == id {
			return l
		}
	}
	t.Fatalf("no access log line for request %q in:\n%s", id, b.String())
	return nil
}

// fakeAuth resolves credentials from fixed tables; unknown credentials are INVALID_CREDENTIALS.
type fakeAuth struct {
	tokens map[string]any // policy.Subject or error
	keys   map[string]any
}

var errBadCredentials = apperr.New(apperr.Unauthenticated, "INVALID_CREDENTIALS", "the credentials are not valid")

func lookup(m map[string]any, k string) (policy.Subject, error) {
	switch v := m[k].(type) {
	case policy.Subject:
		return v, nil
	case error:
		return policy.Subject{}, v
	default:
		return policy.Subject{}, errBadCredentials
	}
}

func (a *fakeAuth) AuthenticateAccessToken(_ context.Context, token string) (policy.Subject, error) {
	return lookup(a.tokens, token)
}

func (a *fakeAuth) AuthenticateAPIKey(_ context.Context, key string) (policy.Subject, error) {
	return lookup(a.keys, key)
}

const (
	aliceToken = "tok-alice"
	aliceKey   = "avreg_alicekey"
	bobToken   = "tok-bob"
)

var (
	alice = policy.Subject{Kind: policy.KindDeveloper, ID: "dev_alice", AuthMethod: policy.AuthSession}
	bob   = policy.Subject{Kind: policy.KindDeveloper, ID: "dev_bob", AuthMethod: policy.AuthSession}
)

func newFakeAuth() *fakeAuth {
	return &fakeAuth{
		tokens: map[string]any{
			aliceToken: alice,
			bobToken:   bob,
			"expired":  apperr.New(apperr.Unauthenticated, "TOKEN_EXPIRED", "the access token has expired"),
			"banned":   apperr.New(apperr.Forbidden, "ACCOUNT_SUSPENDED", "the account is suspended").With("until", "2030-01-01"),
			"db-down":  fmt.Errorf("dial tcp 10.0.0.7:5432: connection refused"),
			"denied":   apperr.New(apperr.Forbidden, "FORBIDDEN", "not permitted").With("decision_id", "dec_test1"),
		},
		keys: map[string]any{
			aliceKey: policy.Subject{Kind: policy.KindDeveloper, ID: "dev_alice", AuthMethod: policy.AuthAPIKey},
		},
	}
}

// Test operations.

type createItemInput struct {
	Body struct {
		Name string `json:"name" maxLength:"10"`
		Note string `json:"note,omitempty" maxLength:"20"`
	}
}

type itemOutput struct {
	Body struct {
		Name string `json:"name"`
		Note string `json:"note,omitempty"`
	}
}

type listItemsInput struct {
	httpapi.PageParams
	IfNoneMatch string `header:"If-None-Match"`
}

type item struct {
	ID string `json:"id"`
}

type itemPage struct {
	Items      []item `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

type itemPageOutput struct {
	ETag string `header:"ETag"`
	Body itemPage
}

type getItemInput struct {
	ID string `path:"id" maxLength:"64"`
}

type whoamiOutput struct {
	Body struct {
		Kind string `json:"kind"`
		ID   string `json:"id,omitempty"`
	}
}

// allItems is the collection the list operation pages through, in key order.
var allItems = func() []item {
	var items []item
	for i := 1; i <= 7; i++ {
		items = append(items, item{ID: fmt.Sprintf("it_%02d", i)})
	}
	return items
}()

func registerTestOps(api huma.API) {
	httpapi.Register(api, huma.Operation{OperationID: "create-item", Method: http.MethodPost, Path: "/items", DefaultStatus: http.StatusCreated},
		func(_ context.Context, in *createItemInput) (*itemOutput, error) {
			out := &itemOutput{}
			out.Body.Name, out.Body.Note = in.Body.Name, in.Body.Note
			return out, nil
		})
	httpapi.Register(api, huma.Operation{OperationID: "list-items", Method: http.MethodGet, Path: "/items"},
		func(_ context.Context, in *listItemsInput) (*itemPageOutput, error) {
			var after string
			if err := httpapi.DecodeCursor(in.Cursor, &after); err != nil {
				return nil, err
			}
			var rows []item // what a store would return: limit+1 rows after the cursor
			for _, it := range allItems {
				if it.ID > after && len(rows) < in.Limit+1 {
					rows = append(rows, it)
				}
			}
			page, next := httpapi.Paginate(rows, in.Limit, func(it item) any { return it.ID })
			body := itemPage{Items: page, NextCursor: next}
			etag, err := httpapi.CheckETag(in.IfNoneMatch, body)
			if err != nil {
				return nil, err
			}
			return &itemPageOutput{ETag: etag, Body: body}, nil
		})
	httpapi.Register(api, huma.Operation{OperationID: "get-item", Method: http.MethodGet, Path: "/items/{id}"},
		func(_ context.Context, in *getItemInput) (*itemOutput, error) {
			if in.ID == "missing" {
				return nil, apperr.New(apperr.NotFound, "ITEM_NOT_FOUND", "no such item").With("id", in.ID)
			}
			out := &itemOutput{}
			out.Body.Name = in.ID
			return out, nil
		})
	httpapi.Register(api, huma.Operation{OperationID: "panic", Method: http.MethodGet, Path: "/panic"},
		func(context.Context, *struct{}) (*struct{}, error) {
			panic("boom: secret-panic-value")
		})
	httpapi.Register(api, huma.Operation{OperationID: "whoami", Method: http.MethodGet, Path: "/whoami"},
		func(ctx context.Context, _ *struct{}) (*whoamiOutput, error) {
			s := httpapi.Subject(ctx)
			out := &whoamiOutput{}
			out.Body.Kind, out.Body.ID = s.Kind, s.ID
			return out, nil
		})
	httpapi.Register(api, huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/login",
		Metadata: map[string]any{httpapi.MetaRateClass: httpapi.RateAuth}},
		func(context.Context, *struct{}) (*struct{}, error) { return &struct{}{}, nil })
	httpapi.Register(api, huma.Operation{OperationID: "fail", Method: http.MethodGet, Path: "/fail"},
		func(context.Context, *struct{}) (*struct{}, error) {
			return nil, fmt.Errorf("query developers: pq: password authentication failed for user \"sovereign\"")
		})
}

// stack is the full middleware chain around the test operations, as server.New assembles it.
type stack struct {
	handler http.Handler
	log     *syncBuffer
	reg     *prometheus.Registry
}

type stackOptions struct {
	limiter ratelimit.Limiter
	classes map[string]ratelimit.Limit
	auth    httpapi.Authenticator // default newFakeAuth()
}

var generous = ratelimit.Limit{Rate: 100000, Period: time.Second, Burst: 100000}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	if o.limiter == nil {
		o.limiter = ratelimit.NewMemory()
	}
	if o.classes == nil {
		o.classes = map[string]ratelimit.Limit{httpapi.RateDefault: generous, httpapi.RateAuth: generous}
	}
	if o.auth == nil {
		o.auth = newFakeAuth()
	}
	logBuf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logBuf, nil))
	reg := prometheus.NewRegistry()
	metrics := httpapi.NewMetrics(reg)
	limits := &httpapi.RateLimits{Limiter: o.limiter, Classes: o.classes, Metrics: metrics, Log: log}

	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "Test API", "0.0.1")
	api.UseMiddleware(httpapi.Authenticate(o.auth, metrics), limits.Middleware)
	registerTestOps(api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return &stack{handler: httpapi.Handler(mux, log, metrics), log: logBuf, reg: reg}
}

// response is a served response with its body decoded when it is an envelope.
type response struct {
	*httptest.ResponseRecorder
	env envelope
}

type envelope struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

func (s *stack) do(t testing.TB, method, target string, body io.Reader, header ...string) *response {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "192.0.2.10:4242"
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	res := &response{ResponseRecorder: w}
	if strings.Contains(w.Body.String(), `"error"`) {
		if err := json.Unmarshal(w.Body.Bytes(), &res.env); err != nil {
			t.Fatalf("%s %s: error body is not an envelope: %v\n%s", method, target, err, w.Body.String())
		}
	}
	return res
}

// wantError checks status, envelope code, JSON content type and that the body's request id is the
// response's X-Request-Id.
func (r *response) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if r.Code != status || r.env.Error.Code != code {
		t.Fatalf("got %d %q, want %d %q; body:\n%s", r.Code, r.env.Error.Code, status, code, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if r.env.Error.Message == "" {
		t.Errorf("envelope has no message: %s", r.Body.String())
	}
	if id := r.Header().Get(httpapi.RequestIDHeader); id == "" || r.env.Error.RequestID != id {
		t.Errorf("body request_id = %q, X-Request-Id = %q; want equal and non-empty", r.env.Error.RequestID, id)
	}
}

func jsonBody(s string) io.Reader { return strings.NewReader(s) }
