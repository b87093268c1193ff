package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/email/emailtest"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// mailbox captures verification emails; its links must point at the public URL.
type mailbox struct{ *emailtest.Mailbox }

func newMailbox() *mailbox { return &mailbox{emailtest.New()} }

func (m *mailbox) token(t *testing.T, email string) string {
	t.Helper()
	tok := m.Token(t, email)
	if u, _ := url.Parse(m.Link(email)); u.Path != "/portal/verify" || u.Host != "registry.test" {
		t.Fatalf("verification link %q does not point at the public URL", m.Link(email))
	}
	return tok
}

// stack is a running embedded stack on a test HTTP server.
type stack struct {
	t        *testing.T
	srv      *httptest.Server
	mail     *mailbox
	adminKey string
	logs     *lockedWriter // the server's log lines (read them with logText)
	server   *server.Server
	// client, when set, sends the requests instead of srv's client (fromAddr).
	client *http.Client
}

// fromAddr returns the stack as seen from another client: its requests leave from the loopback
// address ip (127.0.0.2, …), so the server counts them against that address.
func (s *stack) fromAddr(ip string) *stack {
	c := *s
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c.client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	return &c
}

type stackOption func(*config.Config)

var fastPasswords = credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}

func newStack(t *testing.T, db *store.DB, opts ...stackOption) *stack {
	t.Helper()
	return newStackAt(t, db, nil, opts...)
}

// newStackAt is newStack with the services' clock now (nil: the real clock).
func newStackAt(t *testing.T, db *store.DB, now func() time.Time, opts ...stackOption) *stack {
	t.Helper()
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0" // the tests fund the treasury themselves
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	cfg.RateLimits.DefaultPerMinute, cfg.RateLimits.DefaultBurst = 100000, 100000
	cfg.RateLimits.AuthPerMinute, cfg.RateLimits.AuthBurst = 100000, 100000
	cfg.RateLimits.AuthFailuresPerMinute, cfg.RateLimits.AuthFailuresBurst = 100000, 100000
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	mail := newMailbox()
	logs := &lockedWriter{w: &bytes.Buffer{}}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DB: db, Mailer: mail, PasswordParams: fastPasswords,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	// A second replica on the same database finds the admin already there and writes no key file.
	key, err := os.ReadFile(filepath.Join(cfg.Data, server.AdminKeyFile))
	if err == nil {
		if fi, _ := os.Stat(filepath.Join(cfg.Data, server.AdminKeyFile)); fi.Mode().Perm() != 0o600 {
			t.Fatalf("admin key file mode %v, want 0600", fi.Mode().Perm())
		}
	} else if srv.AdminKey != "" {
		t.Fatalf("admin created but key file unreadable: %v", err)
	}
	return &stack{t: t, srv: hs, mail: mail, adminKey: strings.TrimSpace(string(key)), logs: logs, server: srv}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

// logText is what the server logged so far (safe while it logs).
func (s *stack) logText() string {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.w.String()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// resp is a decoded response.
type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// code is the envelope's error code ("" when the body is not an error).
func (r resp) code() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	if c == "" {
		c, _ = r.Body["errorCode"].(string) // the ARD API's error body
	}
	return c
}

func (r resp) details() map[string]any {
	e, _ := r.Body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	return d
}

func (r resp) str(key string) string {
	v, _ := r.Body[key].(string)
	return v
}

// hdr is a request header.
type hdr [2]string

func bearer(tok string) hdr { return hdr{"Authorization", "Bearer " + tok} }

func (s *stack) do(method, path string, body any, headers ...hdr) resp {
	s.t.Helper()
	client := s.client
	if client == nil {
		client = s.srv.Client()
	}
	return s.doVia(client, s.srv.URL, method, path, body, headers...)
}

// doVia is do with another client and base URL (the stack's handler behind another listener).
func (s *stack) doVia(c *http.Client, base, method, path string, body any, headers ...hdr) resp {
	s.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rdr = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, base+path, rdr)
	if err != nil {
		s.t.Fatal(err)
	}
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if ct := res.Header.Get("Content-Type"); len(raw) > 0 && (strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/openapi+json")) {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			s.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	if out.Status >= 400 {
		if out.code() == "" {
			s.t.Fatalf("%s %s: %d without an error envelope: %s", method, path, out.Status, raw)
		}
		e, envelope := out.Body["error"].(map[string]any)
		if envelope && e["request_id"] != res.Header.Get("X-Request-Id") || e["request_id"] == "" {
			s.t.Fatalf("%s %s: envelope request_id %v != header %q", method, path, e["request_id"], res.Header.Get("X-Request-Id"))
		}
	}
	return out
}

// want fails unless r has the status and (for errors) the code.
func (r resp) want(t *testing.T, status int, code string) resp {
	t.Helper()
	if r.Status != status || r.code() != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.code(), status, code, r.Raw)
	}
	return r
}

const goodPassword = "correct horse battery staple"

// developer is a registered account with its credentials.
type developer struct {
	ID, Email    string
	Access       string
	Refresh      string
	RecoveryKeys []string
}

// register creates an account (verified when verify is true) and logs it in.
func (s *stack) register(email string, verify bool) developer {
	s.t.Helper()
	r := s.do("POST", "/api/v1/auth/register", map[string]string{"email": email, "name": "Test Dev", "password": goodPassword}).want(s.t, 201, "")
	d := developer{Email: strings.ToLower(email)}
	d.ID = r.Body["developer"].(map[string]any)["id"].(string)
	for _, k := range r.Body["recovery_keys"].([]any) {
		d.RecoveryKeys = append(d.RecoveryKeys, k.(string))
	}
	if verify {
		s.do("GET", "/api/v1/auth/verify-email?token="+s.mail.token(s.t, d.Email), nil).want(s.t, 200, "")
	}
	l := s.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": goodPassword}).want(s.t, 200, "")
	d.Access, d.Refresh = l.str("access_token"), l.str("refresh_token")
	return d
}

func (s *stack) countDevelopers() int {
	s.t.Helper()
	r := s.do("GET", "/api/v1/developers?limit=500", nil, bearer(s.adminKey)).want(s.t, 200, "")
	return len(r.Body["items"].([]any))
}

// eachStack runs fn on a stack over SQLite and (when configured) PostgreSQL.
func eachStack(t *testing.T, fn func(t *testing.T, s *stack), opts ...stackOption) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newStack(t, db, opts...)) })
}

// newServerErr builds a server from cfg and reports the error New returns.
func newServerErr(cfg config.Config) (*server.Server, error) {
	srv, err := server.New(context.Background(), server.Options{Config: cfg, PasswordParams: fastPasswords})
	if err == nil {
		srv.Close()
	}
	return srv, err
}
