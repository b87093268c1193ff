package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/ids"
)

func TestStack_BodyErrorsBecomeEnvelopes(t *testing.T) {
	s := newStack(t, stackOptions{})
	tests := []struct {
		name      string
		body      string
		status    int
		code      string
		field     string // details.field, when the error names one
		inMessage string // a substring of the message
	}{
		{name: "malformed JSON", body: `{"name":`, status: http.StatusBadRequest, code: "MALFORMED_JSON"},
		{name: "not an object", body: `[1,2]`, status: http.StatusUnprocessableEntity, code: "INVALID_FIELD"},
		{name: "unknown field", body: `{"name":"a","colour":"red"}`, status: http.StatusUnprocessableEntity, code: "UNKNOWN_FIELD", field: "colour", inMessage: "colour"},
		{name: "missing required field", body: `{"note":"hi"}`, status: http.StatusUnprocessableEntity, code: "MISSING_FIELD", field: "name", inMessage: "name"},
		{name: "too-long string", body: `{"name":"abcdefghijk"}`, status: http.StatusUnprocessableEntity, code: "INVALID_FIELD", field: "name", inMessage: "name"},
		{name: "too-long optional string", body: `{"name":"a","note":"` + strings.Repeat("n", 21) + `"}`, status: http.StatusUnprocessableEntity, code: "INVALID_FIELD", field: "note", inMessage: "note"},
		{name: "wrong type", body: `{"name":5}`, status: http.StatusUnprocessableEntity, code: "INVALID_FIELD", field: "name"},
		{name: "body over 1 MiB", body: `{"name":"` + strings.Repeat("a", httpapi.MaxBodyBytes+10) + `"}`, status: http.StatusRequestEntityTooLarge, code: "BODY_TOO_LARGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodPost, "/items", jsonBody(tt.body))
			r.wantError(t, tt.status, tt.code)
			if tt.field != "" {
				if got := r.env.Error.Details["field"]; got != tt.field {
					t.Errorf("details.field = %v, want %q; body: %s", got, tt.field, r.Body.String())
				}
				if got := r.env.Error.Details["in"]; got != "body" {
					t.Errorf("details.in = %v, want body", got)
				}
				if _, ok := r.env.Error.Details["errors"].([]any); !ok {
					t.Errorf("details.errors missing: %s", r.Body.String())
				}
			}
			if tt.inMessage != "" && !strings.Contains(r.env.Error.Message, tt.inMessage) {
				t.Errorf("message %q does not mention %q", r.env.Error.Message, tt.inMessage)
			}
		})
	}
}

func TestStack_ValidBodyIsServed(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/items", jsonBody(`{"name":"widget","note":"blue"}`))
	if r.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body: %s", r.Code, r.Body.String())
	}
	var got struct{ Name, Note string }
	if err := json.Unmarshal(r.Body.Bytes(), &got); err != nil || got.Name != "widget" || got.Note != "blue" {
		t.Fatalf("body = %s (err %v)", r.Body.String(), err)
	}
}

func TestStack_BodyTooLargeNamesTheLimit(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/items", jsonBody(strings.Repeat(" ", 2<<20)+`{"name":"a"}`))
	r.wantError(t, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	if got := r.env.Error.Details["limit_bytes"]; got != float64(httpapi.MaxBodyBytes) {
		t.Errorf("details.limit_bytes = %v, want %d", got, httpapi.MaxBodyBytes)
	}
}

func TestStack_MissingBodyIsBadRequest(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/items", nil)
	r.wantError(t, http.StatusBadRequest, "MISSING_BODY")
}

func TestStack_DomainErrorKeepsCodeAndDetails(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/items/missing", nil)
	r.wantError(t, http.StatusNotFound, "ITEM_NOT_FOUND")
	if r.env.Error.Details["id"] != "missing" {
		t.Errorf("details = %v", r.env.Error.Details)
	}
	line := s.log.accessLine(t, r.env.Error.RequestID)
	if line["error_code"] != "ITEM_NOT_FOUND" || line["level"] != "INFO" {
		t.Errorf("access log line = %v, want error_code ITEM_NOT_FOUND at INFO", line)
	}
}

func TestStack_PlainErrorIsInternalAndCauseOnlyLogged(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/fail", nil)
	r.wantError(t, http.StatusInternalServerError, "INTERNAL")
	if r.env.Error.Message != "internal error" || r.env.Error.Details != nil {
		t.Errorf("envelope = %s", r.Body.String())
	}
	if strings.Contains(r.Body.String(), "password authentication") {
		t.Errorf("cause leaked into the body: %s", r.Body.String())
	}
	line := s.log.accessLine(t, r.env.Error.RequestID)
	if line["level"] != "ERROR" || !strings.Contains(line["error"].(string), "password authentication failed") {
		t.Errorf("access log line = %v, want level ERROR with the cause in error", line)
	}
}

func TestStack_UnknownRouteIsNotFoundEnvelope(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/no/such/route", nil)
	r.wantError(t, http.StatusNotFound, "NOT_FOUND")
	if strings.Contains(r.Body.String(), "404 page not found") {
		t.Errorf("plain-text body leaked: %q", r.Body.String())
	}
	if line := s.log.accessLine(t, r.env.Error.RequestID); line["route"] != "unmatched" {
		t.Errorf("route = %v, want unmatched", line["route"])
	}
}

func TestStack_WrongMethodIsMethodNotAllowedEnvelope(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodDelete, "/items", nil)
	r.wantError(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	if !strings.Contains(r.env.Error.Message, "DELETE") {
		t.Errorf("message %q does not name the method", r.env.Error.Message)
	}
	if allow := r.Header().Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q, want GET and POST", allow)
	}
}

func TestStack_PanicIsInternalEnvelopeWithStackInLogOnly(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/panic", nil)
	r.wantError(t, http.StatusInternalServerError, "INTERNAL")
	if r.env.Error.Message != "internal error" {
		t.Errorf("message = %q", r.env.Error.Message)
	}
	for _, leak := range []string{"secret-panic-value", "goroutine", ".go:"} {
		if strings.Contains(r.Body.String(), leak) {
			t.Errorf("body contains %q: %s", leak, r.Body.String())
		}
	}
	var panicLine map[string]any
	for _, l := range s.log.logLines(t) {
		if l["msg"] == "panic" {
			panicLine = l
		}
	}
	if panicLine == nil {
		t.Fatalf("no panic log line:\n%s", s.log.String())
	}
	if panicLine["request_id"] != r.env.Error.RequestID || !strings.Contains(panicLine["panic"].(string), "secret-panic-value") {
		t.Errorf("panic line = %v", panicLine)
	}
	if st, _ := panicLine["stack"].(string); !strings.Contains(st, "goroutine") || !strings.Contains(st, "stack_test.go") {
		t.Errorf("panic line has no stack trace of the handler: %q", st)
	}
	line := s.log.accessLine(t, r.env.Error.RequestID)
	if line["status"] != float64(500) || line["level"] != "ERROR" {
		t.Errorf("access line = %v, want status 500 at ERROR", line)
	}
}

func TestStack_RequestIDIsEchoedOrReplaced(t *testing.T) {
	s := newStack(t, stackOptions{})
	tests := []struct {
		name   string
		sent   string
		echoed bool
	}{
		{"well-formed", "trace-01J:abc.DEF_9", true},
		{"max length", strings.Repeat("a", 64), true},
		{"absent", "", false},
		{"too long", strings.Repeat("a", 65), false},
		{"space", "bad id", false},
		{"injection", `x","admin":"true`, false},
		{"non-ascii", "idé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.sent != "" {
				hdr = []string{httpapi.RequestIDHeader, tt.sent}
			}
			r := s.do(t, http.MethodGet, "/nowhere", nil, hdr...)
			r.wantError(t, http.StatusNotFound, "NOT_FOUND")
			got := r.Header().Get(httpapi.RequestIDHeader)
			if tt.echoed && got != tt.sent {
				t.Errorf("X-Request-Id = %q, want the sent %q", got, tt.sent)
			}
			if !tt.echoed && !ids.Valid(ids.Request, got) {
				t.Errorf("X-Request-Id = %q, want a fresh req_ id", got)
			}
			s.log.accessLine(t, got)
		})
	}
}

func TestStack_RequestIDOnSuccess(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/healthz", nil)
	if r.Code != http.StatusOK || !ids.Valid(ids.Request, r.Header().Get(httpapi.RequestIDHeader)) {
		t.Fatalf("status %d, X-Request-Id %q", r.Code, r.Header().Get(httpapi.RequestIDHeader))
	}
}

func TestStack_AccessLogLineIsJSON(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/items/abc?x=1", nil, httpapi.RequestIDHeader, "req-log-1", "Authorization", "Bearer "+aliceToken)
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.Body.String())
	}
	line := s.log.accessLine(t, "req-log-1")
	want := map[string]any{
		"msg": "request", "level": "INFO", "method": "GET", "path": "/items/abc", "route": "/items/{id}",
		"status": float64(200), "request_id": "req-log-1", "remote": "192.0.2.10", "subject": "dev_alice",
		"bytes": float64(r.Body.Len()),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("log has no numeric duration_ms: %v", line)
	}
	if _, ok := line["error_code"]; ok {
		t.Errorf("successful request logged an error_code: %v", line)
	}
}

// counterValue gathers reg and returns the value of the sample of name whose labels include want,
// and whether there was one.
func counterValue(t *testing.T, s *stack, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func TestStack_MetricsUseTheRoutePattern(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, id := range []string{"a", "b", "missing"} {
		s.do(t, http.MethodGet, "/items/"+id, nil)
	}
	s.do(t, http.MethodGet, "/random/path/1", nil)
	s.do(t, http.MethodGet, "/random/path/2", nil)

	if v, ok := counterValue(t, s, "sovereign_http_requests_total", map[string]string{"method": "GET", "route": "/items/{id}", "code": "200"}); !ok || v != 2 {
		t.Errorf("requests{route=/items/{id},code=200} = %v (present %v), want 2", v, ok)
	}
	if v, ok := counterValue(t, s, "sovereign_http_requests_total", map[string]string{"route": "/items/{id}", "code": "404"}); !ok || v != 1 {
		t.Errorf("requests{route=/items/{id},code=404} = %v (present %v), want 1", v, ok)
	}
	if v, ok := counterValue(t, s, "sovereign_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}); !ok || v != 2 {
		t.Errorf("requests{route=unmatched} = %v (present %v), want 2", v, ok)
	}
	for _, raw := range []string{"/items/a", "/items/b", "/random/path/1"} {
		if _, ok := counterValue(t, s, "sovereign_http_requests_total", map[string]string{"route": raw}); ok {
			t.Errorf("a sample is labelled with the raw path %q", raw)
		}
	}
}

func TestStack_Authentication(t *testing.T) {
	s := newStack(t, stackOptions{})
	tests := []struct {
		name    string
		header  []string
		status  int
		code    string // envelope code when refused
		subject string // subject id when served
	}{
		{name: "anonymous", status: http.StatusOK},
		{name: "bearer access token", header: []string{"Authorization", "Bearer " + aliceToken}, status: http.StatusOK, subject: "dev_alice"},
		{name: "scheme is case-insensitive", header: []string{"Authorization", "bearer " + bobToken}, status: http.StatusOK, subject: "dev_bob"},
		{name: "bearer API key", header: []string{"Authorization", "Bearer " + aliceKey}, status: http.StatusOK, subject: "dev_alice"},
		{name: "X-Api-Key", header: []string{"X-Api-Key", aliceKey}, status: http.StatusOK, subject: "dev_alice"},
		{name: "basic scheme", header: []string{"Authorization", "Basic dXNlcjpwYXNz"}, status: http.StatusUnauthorized, code: "INVALID_AUTHORIZATION_HEADER"},
		{name: "bearer without token", header: []string{"Authorization", "Bearer "}, status: http.StatusUnauthorized, code: "INVALID_AUTHORIZATION_HEADER"},
		{name: "token without scheme", header: []string{"Authorization", aliceToken}, status: http.StatusUnauthorized, code: "INVALID_AUTHORIZATION_HEADER"},
		{name: "both credentials", header: []string{"Authorization", "Bearer " + aliceToken, "X-Api-Key", aliceKey}, status: http.StatusBadRequest, code: "AMBIGUOUS_CREDENTIALS"},
		{name: "unknown token", header: []string{"Authorization", "Bearer nope"}, status: http.StatusUnauthorized, code: "INVALID_CREDENTIALS"},
		{name: "access token in X-Api-Key", header: []string{"X-Api-Key", aliceToken}, status: http.StatusUnauthorized, code: "INVALID_CREDENTIALS"},
		{name: "authenticator code passes through", header: []string{"Authorization", "Bearer expired"}, status: http.StatusUnauthorized, code: "TOKEN_EXPIRED"},
		{name: "authenticator kind passes through", header: []string{"Authorization", "Bearer banned"}, status: http.StatusForbidden, code: "ACCOUNT_SUSPENDED"},
		{name: "authenticator failure is internal", header: []string{"Authorization", "Bearer db-down"}, status: http.StatusInternalServerError, code: "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, "/whoami", nil, tt.header...)
			if tt.code != "" {
				r.wantError(t, tt.status, tt.code)
				if tt.status == http.StatusUnauthorized && r.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
				if strings.Contains(r.Body.String(), "10.0.0.7") {
					t.Errorf("authenticator cause leaked: %s", r.Body.String())
				}
				return
			}
			if r.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.Code, tt.status, r.Body.String())
			}
			var who struct{ Kind, ID string }
			if err := json.Unmarshal(r.Body.Bytes(), &who); err != nil {
				t.Fatal(err)
			}
			if who.ID != tt.subject {
				t.Errorf("subject = %q, want %q", who.ID, tt.subject)
			}
			if tt.subject == "" && who.Kind != "anonymous" {
				t.Errorf("kind = %q, want anonymous", who.Kind)
			}
		})
	}
	if v, _ := counterValue(t, s, "sovereign_auth_failures_total", map[string]string{"code": "TOKEN_EXPIRED"}); v != 1 {
		t.Errorf("auth_failures{code=TOKEN_EXPIRED} = %v, want 1", v)
	}
	if v, _ := counterValue(t, s, "sovereign_auth_failures_total", map[string]string{"code": "INVALID_AUTHORIZATION_HEADER"}); v != 3 {
		t.Errorf("auth_failures{code=INVALID_AUTHORIZATION_HEADER} = %v, want 3", v)
	}
}

func TestStack_BadCredentialsAreRefusedOnEveryRoute(t *testing.T) {
	s := newStack(t, stackOptions{})
	// Even a route that needs no caller refuses a request whose credentials are bad.
	r := s.do(t, http.MethodPost, "/items", jsonBody(`{"name":"a"}`), "Authorization", "Token abc")
	r.wantError(t, http.StatusUnauthorized, "INVALID_AUTHORIZATION_HEADER")
}

func TestStack_UnsupportedMediaTypeIsEnvelope(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodPost, "/items", jsonBody(`<item/>`), "Content-Type", "application/xml")
	r.wantError(t, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
}

func TestNewAPI_ServesOpenAPI31WithSecuritySchemes(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/openapi.json", nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", r.Code)
	}
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas         map[string]json.RawMessage `json:"schemas"`
			SecuritySchemes map[string]struct {
				Type, Scheme, In, Name string
			} `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if ss := doc.Components.SecuritySchemes; ss[httpapi.SchemeBearer].Scheme != "bearer" || ss[httpapi.SchemeAPIKey].Name != "X-Api-Key" {
		t.Errorf("security schemes = %+v", ss)
	}
	for _, p := range []string{"/items", "/items/{id}"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("path %s missing from the document", p)
		}
	}
	if body := string(doc.Components.Schemas["CreateItemInputBody"]); !strings.Contains(body, `"additionalProperties":false`) {
		t.Errorf("request body schema is not closed: %s", body)
	}
	if r := s.do(t, http.MethodGet, "/openapi.yaml", nil); r.Code != http.StatusOK {
		t.Errorf("GET /openapi.yaml: %d", r.Code)
	}
	if r := s.do(t, http.MethodGet, "/docs", nil); r.Code != http.StatusNotFound {
		t.Errorf("GET /docs: %d, want 404 (no docs page)", r.Code)
	}
}

func TestStack_ConcurrentRequestsKeepTheirOwnState(t *testing.T) {
	s := newStack(t, stackOptions{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			id := "req-concurrent-" + strconv.Itoa(i)
			token, want := aliceToken, "dev_alice"
			if i%2 == 1 {
				token, want = bobToken, "dev_bob"
			}
			for range 20 {
				r := s.do(t, http.MethodGet, "/whoami", nil, httpapi.RequestIDHeader, id, "Authorization", "Bearer "+token)
				var who struct{ ID string }
				if err := json.Unmarshal(r.Body.Bytes(), &who); err != nil || who.ID != want || r.Header().Get(httpapi.RequestIDHeader) != id {
					t.Errorf("request %s: subject %q id %q (%v)", id, who.ID, r.Header().Get(httpapi.RequestIDHeader), err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, _ := counterValue(t, s, "sovereign_http_requests_total", map[string]string{"route": "/whoami", "code": "200"}); v != 16*20 {
		t.Errorf("requests{route=/whoami} = %v, want %d", v, 16*20)
	}
}

// TestStack_AccessLogNamesTheDecisionAndQuietsProbes: a 403 of the policy carries its decision
// id in the access log (the key to the decision log); health checks log at debug, not info.
func TestStack_AccessLogNamesTheDecisionAndQuietsProbes(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/items/abc", nil, httpapi.RequestIDHeader, "req-denied-1", "Authorization", "Bearer denied")
	if r.Code != http.StatusForbidden || r.Header().Get(httpapi.DecisionIDHeader) != "dec_test1" {
		t.Fatalf("status %d, decision %q: %s", r.Code, r.Header().Get(httpapi.DecisionIDHeader), r.Body.String())
	}
	if line := s.log.accessLine(t, "req-denied-1"); line["decision_id"] != "dec_test1" || line["error_code"] != "FORBIDDEN" {
		t.Fatalf("access log of a denial: %v", line)
	}
	s.do(t, http.MethodGet, "/healthz", nil, httpapi.RequestIDHeader, "req-probe-1")
	for _, l := range s.log.logLines(t) {
		if l["request_id"] == "req-probe-1" {
			t.Fatalf("a health check logged at info: %v", l)
		}
	}
}
