package server_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/redistest"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// onboardAgent registers an agent for dev (verified) with a bootstrap token and returns its id
// and client credentials.
func (s *stack) onboardAgent(dev developer, name string) (agentID, clientID, secret string) {
	s.t.Helper()
	token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(dev.Access)).want(s.t, 201, "").str("token")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	body := map[string]any{"card": card(name, "An agent of the HTTP edge tests", "edge"),
		"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
		"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}
	reg := s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(s.t, 201, "")
	return reg.str("agent_id"), reg.str("client_id"), reg.str("client_secret")
}

// accessLines are the access-log lines ("msg":"request") of path.
func (s *stack) accessLines(path string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.logText(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" && l["path"] == path {
			out = append(out, l)
		}
	}
	return out
}

// rawRequest writes head and body on a new connection, half-closes or closes it, and returns
// the response (nil when the connection was closed before one could be read).
func (s *stack) rawRequest(head, body string, closeAll bool) *http.Response {
	s.t.Helper()
	c, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head+"\r\n"+body); err != nil {
		s.t.Fatal(err)
	}
	if closeAll {
		_ = c.Close()
		return nil
	}
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		s.t.Fatalf("no response to a short body: %v", err)
	}
	return res
}

// A body shorter than its Content-Length (the client half-closes) or cut off by a client that
// goes away is the client's fault: 400 BODY_INCOMPLETE, never a 500 or an ERROR log line.
func TestBody_CutShortIsAClientError(t *testing.T) {
	s := newStack(t, storetest.SQLite(t))
	head := "POST /api/v1/auth/login HTTP/1.1\r\nHost: registry.test\r\nContent-Type: application/json\r\nContent-Length: 200\r\n"
	res := s.rawRequest(head, `{"email":"short@example.com",`, false)
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &env)
	if res.StatusCode != 400 || env.Error.Code != "BODY_INCOMPLETE" {
		t.Fatalf("half-closed short body: %d %s", res.StatusCode, raw)
	}
	// A client that disconnects mid-body.
	s.rawRequest(strings.Replace(head, "login", "register", 1), `{"email":"gone@exa`, true)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.accessLines("/api/v1/auth/register")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	lines := append(s.accessLines("/api/v1/auth/login"), s.accessLines("/api/v1/auth/register")...)
	if len(lines) != 2 {
		t.Fatalf("want 2 access lines, got %v\n%s", lines, s.logText())
	}
	for _, l := range lines {
		if st, _ := l["status"].(float64); st >= 500 || l["level"] == "ERROR" {
			t.Errorf("a cut-off body is logged as a server error: %v", l)
		}
	}
	metrics := string(s.do("GET", "/metrics", nil).Raw)
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "sovereign_http_requests_total") && strings.Contains(line, `route="/api/v1/auth/`) && strings.Contains(line, `code="5`) {
			t.Errorf("a cut-off body counted as a server error: %s", line)
		}
	}
}

// withAuthFailures sets a small budget of failed authentications per address.
func withAuthFailures(perMinute, burst int) stackOption {
	return func(c *config.Config) {
		c.RateLimits.AuthFailuresPerMinute, c.RateLimits.AuthFailuresBurst = perMinute, burst
	}
}

// Guessed API keys, tokens and client secrets count against the caller's address: after the
// budget, 429 with Retry-After, before any credential is checked (right or wrong); successful
// requests do not use the budget.
func TestAuthFailures_AreRateLimitedPerAddress(t *testing.T) {
	// shared: the limiter is Redis, whose look-up a JWT-SVID that verified before skips.
	run := func(t *testing.T, s *stack, shared bool) {
		// A fresh email: a shared Redis keeps per-email login counts between runs.
		d := s.register(fmt.Sprintf("guessed%d@example.com", time.Now().UnixNano()), true)
		agent := s.registerAgent(d, "Busy Agent")
		svid := bearer(s.clientToken(agent).want(t, 200, "").str("access_token"))
		s.do("GET", "/api/v1/agents/me", nil, svid).want(t, 200, "")
		unused := bearer(s.clientToken(agent).want(t, 200, "").str("access_token"))
		// Successes never count: many good requests, then the whole budget is still there.
		for i := 0; i < 10; i++ {
			s.do("GET", "/api/v1/developers/me", nil, bearer(d.Access)).want(t, 200, "")
		}
		guesses := []hdr{bearer("avreg_" + strings.Repeat("a", 43)), {"X-Api-Key", "avreg_" + strings.Repeat("b", 43)}, bearer("not.a.jwt")}
		for i, g := range guesses {
			r := s.do("GET", "/api/v1/developers/me", nil, g)
			if r.Status != 401 {
				t.Fatalf("guess %d within the budget: %d %s", i, r.Status, r.Raw)
			}
		}
		var last resp
		for i := 0; i < 300 && last.Status != 429; i++ {
			last = s.do("GET", "/api/v1/developers/me", nil, guesses[i%len(guesses)])
		}
		last.want(t, 429, "RATE_LIMITED")
		if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
		}
		// While the address is limited, no credential is checked: a right one gets no answer
		// that would tell it from a wrong one.
		s.do("GET", "/api/v1/developers/me", nil, bearer(d.Access)).want(t, 429, "RATE_LIMITED")
		s.do("GET", "/api/v1/agents/me", nil, unused).want(t, 429, "RATE_LIMITED")
		if shared {
			// An agent's JWT-SVID that verified before is no guess (only the CA makes one).
			s.do("GET", "/api/v1/agents/me", nil, svid).want(t, 200, "")
		} else {
			s.do("GET", "/api/v1/agents/me", nil, svid).want(t, 429, "RATE_LIMITED")
		}
		// Anonymous public reads are not credentials and go on.
		s.do("GET", "/api/v1/agent-cards", nil).want(t, 200, "")
	}
	t.Run("memory", func(t *testing.T) {
		eachStack(t, func(t *testing.T, s *stack) { run(t, s, false) }, withAuthFailures(6, 3), withGenesis)
	})
	t.Run("redis", func(t *testing.T) {
		u := redistest.URL(t, "Redis-backed failure limits")
		// The stack keys its counters by address in a Redis other runs share: start and end clean.
		opts, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		rc := redis.NewClient(opts)
		key := "sovereign:rl:" + httpapi.RateAuthFailure + "|ip:127.0.0.1"
		clean := func() { rc.Del(context.Background(), key) }
		clean()
		t.Cleanup(func() { clean(); rc.Close() })
		run(t, newStack(t, storetest.SQLite(t), withAuthFailures(6, 3), withGenesis, func(c *config.Config) { c.Redis = u }), true)
	})
}

// Wrong client secrets at the OAuth2 token endpoint count against the address too.
func TestAuthFailures_ClientSecretGuessesAreLimited(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		_, clientID, _ := s.onboardAgent(ada, "Guessed Agent")
		var last resp
		for i := 0; i < 50 && last.Status != 429; i++ {
			last = s.do("POST", "/api/v1/auth/agent/token", map[string]any{"grant_type": "client_credentials", "client_id": clientID,
				"client_secret": fmt.Sprintf("avcs_guess%040d", i)})
		}
		last.want(t, 429, "RATE_LIMITED")
	}, withGenesis, withAuthFailures(6, 3))
}

// basic is an Authorization: Basic header of RFC 6749 §2.3.1: each of client id and secret
// form-urlencoded, then joined by ":" and base64-encoded.
func basic(id, secret string) hdr {
	return hdr{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
}

// percentAll form-urlencodes every byte of s, as a client may (RFC 6749 appendix B).
func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// The token endpoint accepts client credentials in HTTP Basic authentication (RFC 6749 §2.3.1),
// decoding the form-urlencoding inside it, and refuses a request carrying credentials both ways.
func TestAgentToken_BasicClientAuthentication(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		agentID, clientID, secret := s.onboardAgent(ada, "Basic Agent")
		form := hdr{"Content-Type", "application/x-www-form-urlencoded"}
		grant := url.Values{"grant_type": {"client_credentials"}}.Encode()

		at := s.do("POST", "/api/v1/auth/agent/token", grant, form, basic(clientID, secret)).want(t, 200, "")
		if me := s.do("GET", "/api/v1/agents/me", nil, bearer(at.str("access_token"))).want(t, 200, ""); me.str("id") != agentID {
			t.Fatalf("agents/me with a Basic-issued token: %s", me.Raw)
		}
		if at.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("token response Cache-Control %q, want no-store", at.Header.Get("Cache-Control"))
		}
		// Form-urlencoded inside Basic: every byte escaped still names the same client.
		every := hdr{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(percentAll(clientID)+":"+percentAll(secret)))}
		s.do("POST", "/api/v1/auth/agent/token", grant, form, every).want(t, 200, "")
		// A JSON body with Basic credentials.
		s.do("POST", "/api/v1/auth/agent/token", map[string]any{"grant_type": "client_credentials"}, basic(clientID, secret)).want(t, 200, "")

		bad := s.do("POST", "/api/v1/auth/agent/token", grant, form, basic(clientID, "avcs_"+strings.Repeat("x", 43))).want(t, 401, "INVALID_CLIENT")
		if !strings.HasPrefix(bad.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("INVALID_CLIENT after Basic: WWW-Authenticate %q, want a Basic challenge", bad.Header.Get("WWW-Authenticate"))
		}
		both := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}.Encode()
		s.do("POST", "/api/v1/auth/agent/token", both, form, basic(clientID, secret)).want(t, 400, "INVALID_REQUEST")
		s.do("POST", "/api/v1/auth/agent/token", grant, form, hdr{"Authorization", "Basic !!!not-base64"}).want(t, 400, "INVALID_REQUEST")
		s.do("POST", "/api/v1/auth/agent/token", grant, form, hdr{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon"))}).want(t, 400, "INVALID_REQUEST")
		// Other routes still take bearer credentials only.
		s.do("GET", "/api/v1/developers/me", nil, basic(clientID, secret)).want(t, 401, "INVALID_AUTHORIZATION_HEADER")
	}, withGenesis)
}

// An agent's own routes ask anonymous callers to authenticate (401); a developer's own routes
// refuse agents (403) instead of answering for a developer account the agent does not have.
func TestOwnRoutes_AnswerForTheRightKindOfCaller(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		agentID, _, _ := s.onboardAgent(ada, "Kind Agent")
		agent := s.agentToken(agentID, "")
		s.do("GET", "/api/v1/agents/me", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/agents/me/heartbeat", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/agents/me/secret", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", "/api/v1/agents/me", nil, bearer(ada.Access)).want(t, 403, "AGENT_ONLY")

		s.do("GET", "/api/v1/developers/me", nil, agent).want(t, 403, "FORBIDDEN")
		s.do("PATCH", "/api/v1/developers/me", map[string]any{"name": "Agent"}, agent).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/developers/me/api-keys", nil, agent).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "x"}, agent).want(t, 403, "FORBIDDEN")
		s.do("DELETE", "/api/v1/developers/me/api-keys/key_x", nil, agent).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/developers/me/recovery-keys", nil, agent).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/developers/"+agentID, nil, agent).want(t, 403, "FORBIDDEN")
		// The developer's own routes still work.
		s.do("GET", "/api/v1/developers/me", nil, bearer(ada.Access)).want(t, 200, "")
		s.do("GET", "/api/v1/developers/me/api-keys", nil, bearer(ada.Access)).want(t, 200, "")
	}, withGenesis)
}

// Responses that carry secrets are never stored by caches; every response says nosniff; the
// portal sends no referrer.
func TestSecurityHeaders(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		noStore := func(what string, r resp) {
			t.Helper()
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no X-Content-Type-Options: nosniff", what)
			}
		}
		reg := s.do("POST", "/api/v1/auth/register", map[string]string{"email": "hdr@example.com", "name": "H", "password": goodPassword}).want(t, 201, "")
		noStore("register (recovery keys)", reg)
		s.do("GET", "/api/v1/auth/verify-email?token="+s.mail.token(t, "hdr@example.com"), nil).want(t, 200, "")
		login := s.do("POST", "/api/v1/auth/login", map[string]string{"email": "hdr@example.com", "password": goodPassword}).want(t, 200, "")
		noStore("login", login)
		refresh := s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": login.str("refresh_token")}).want(t, 200, "")
		noStore("refresh", refresh)
		access := bearer(refresh.str("access_token"))
		noStore("api key", s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "ci"}, access).want(t, 201, ""))
		noStore("recovery keys", s.do("POST", "/api/v1/developers/me/recovery-keys", nil, access).want(t, 201, ""))
		noStore("bootstrap token", s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, access).want(t, 201, ""))
		noStore("an error", s.do("POST", "/api/v1/auth/login", map[string]string{"email": "hdr@example.com", "password": "wrong wrong"}).want(t, 401, "INVALID_CREDENTIALS"))

		for _, path := range []string{"/api/v1/developers/me", "/healthz", "/api/v1/agent-cards", "/openapi.json", "/api/v1/nope"} {
			r := s.do("GET", path, nil, access)
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no X-Content-Type-Options: nosniff", path)
			}
		}
		p := s.do("GET", "/portal/", nil).want(t, 200, "")
		if p.Header.Get("X-Content-Type-Options") != "nosniff" || p.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("portal headers: %v", p.Header)
		}
	}, withGenesis)
}

// Duplicate JSON keys (ambiguous: which one wins depends on the parser) and NUL characters in
// text are refused, wherever the body is decoded, with the offending field's path; nothing is
// written.
func TestJSON_DuplicateKeysAndNULAreRefused(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		before := s.countDevelopers()
		field := func(r resp) string { f, _ := r.details()["field"].(string); return f }

		r := s.do("POST", "/api/v1/auth/register", `{"email":"a@example.com","name":"A","password":"`+goodPassword+`","email":"b@example.com"}`).want(t, 400, "DUPLICATE_JSON_KEY")
		if field(r) != "email" {
			t.Errorf("duplicate field %q, want email: %s", field(r), r.Raw)
		}
		// Keys equal once unescaped are the same key.
		s.do("POST", "/api/v1/auth/register", `{"email":"a@example.com","name":"A","password":"`+goodPassword+`","\u0065mail":"b@example.com"}`).want(t, 400, "DUPLICATE_JSON_KEY")
		r = s.do("POST", "/api/v1/auth/register", `{"email":"nul@example.com","name":"A\u0000B","password":"`+goodPassword+`"}`).want(t, 422, "INVALID_CHARACTER")
		if field(r) != "name" {
			t.Errorf("NUL field %q, want name: %s", field(r), r.Raw)
		}
		if n := s.countDevelopers(); n != before {
			t.Fatalf("developers %d → %d: a refused body wrote", before, n)
		}

		ada := s.register("ada@example.com", true)
		c := card("Dup Agent", "card with a duplicate", "dup")
		raw, _ := json.Marshal(map[string]any{"card_data": c})
		dup := strings.Replace(string(raw), `"skills":[{`, `"skills":[{"id":"one","id":"two",`, 1)
		if dup == string(raw) {
			t.Fatalf("test card has no skills: %s", raw)
		}
		r = s.do("POST", "/api/v1/agent-cards", dup, bearer(ada.Access)).want(t, 400, "DUPLICATE_JSON_KEY")
		if field(r) != "card_data.skills[0].id" {
			t.Errorf("nested duplicate field %q: %s", field(r), r.Raw)
		}
		r = s.do("POST", "/api/v1/agent-cards", strings.Replace(string(raw), `"skills":[{`, `"skills":[{"x\u0000":1,`, 1), bearer(ada.Access)).want(t, 422, "INVALID_CHARACTER")
		if field(r) != "card_data.skills[0]" {
			t.Errorf("NUL in a key: field %q: %s", field(r), r.Raw)
		}
		// Path and query parameters are text too (a NUL in a card id was a 500 on PostgreSQL).
		s.do("GET", "/api/v1/agent-cards/agt_%00", nil).want(t, 422, "INVALID_CHARACTER")
		if r := s.do("GET", "/api/v1/agent-cards?q=a%00b", nil).want(t, 422, "INVALID_CHARACTER"); field(r) != "q" {
			t.Errorf("NUL in a query parameter: field %q", field(r))
		}
		// The token endpoint decodes its JSON body itself.
		s.do("POST", "/api/v1/auth/agent/token", `{"grant_type":"client_credentials","client_id":"a","client_id":"b"}`).want(t, 400, "DUPLICATE_JSON_KEY")
		// So do the ARD routes, whose errors have their own shape.
		req, _ := http.NewRequest("POST", s.srv.URL+"/ard/v1/search", strings.NewReader(`{"query":{"text":"a"},"query":{"text":"b"}}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), "duplicate") {
			t.Errorf("ARD search with a duplicate key: %d %s", res.StatusCode, body)
		}
	})
}
