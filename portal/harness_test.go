package portal_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/email/emailtest"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// site is a running embedded stack serving the portal.
type site struct {
	t    *testing.T
	srv  *httptest.Server
	mail *emailtest.Mailbox
	app  *server.Server
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteAt(t, nil)
}

// newSiteAt is newSite with the services' clock now (nil: the real clock).
func newSiteAt(t *testing.T, now func() time.Time) *site {
	t.Helper()
	return newSiteWith(t, now, nil)
}

// newSiteWith is newSiteAt with the configuration changed by change (nil: none) first.
func newSiteWith(t *testing.T, now func() time.Time, change func(*config.Config)) *site {
	t.Helper()
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0"
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	cfg.RateLimits.AuthPerMinute, cfg.RateLimits.AuthBurst = 100000, 100000
	cfg.RateLimits.AuthFailuresPerMinute, cfg.RateLimits.AuthFailuresBurst = 100000, 100000
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	mail := emailtest.New()
	app, err := server.New(context.Background(), server.Options{Config: cfg, DB: storetest.SQLite(t), Mailer: mail,
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(app.Handler())
	t.Cleanup(func() { hs.Close(); app.Close() })
	return &site{t: t, srv: hs, mail: mail, app: app}
}

// browser is a client with its own cookies that does not follow redirects, remembering the
// CSRF token of the last page it read.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, base: s.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is an answer.
type page struct {
	Status int
	Header http.Header
	Body   string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return page{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post submits a form with the last page's CSRF token (unless form sets csrf itself).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// want checks the status and that the body holds each of texts.
func (p page) want(t *testing.T, status int, texts ...string) page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.Status, status, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page lacks %q; body:\n%s", s, p.Body)
		}
	}
	return p
}

// signUp creates an account with email through the portal and verifies it.
func (s *site) signUp(b *browser, email string) {
	s.t.Helper()
	b.get("/portal/signup").want(s.t, 200)
	b.post("/portal/signup", url.Values{"email": {email}, "name": {"Ada"}, "password": {"correct horse battery"},
		"password2": {"correct horse battery"}}).want(s.t, 201, "Keep your recovery keys", "avrk_")
	b.get("/portal/verify").want(s.t, 200)
	b.post("/portal/verify", url.Values{"token": {s.mail.Token(s.t, email)}}).want(s.t, 200, "is verified")
}

// logIn logs b in.
func (s *site) logIn(b *browser, email string) {
	s.t.Helper()
	b.get("/portal/login").want(s.t, 200)
	p := b.post("/portal/login", url.Values{"email": {email}, "password": {"correct horse battery"}, "next": {"/portal/"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/portal/" {
		s.t.Fatalf("login: %d %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	b.get("/portal/").want(s.t, 200, "Dashboard")
}

// newUser is a signed-up, verified, logged-in developer's browser.
func (s *site) newUser(email string) *browser {
	b := s.browser()
	s.signUp(b, email)
	s.logIn(b, email)
	return b
}
