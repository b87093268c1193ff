// Package portal serves the developer web UI under /portal/: server-rendered html/template pages
// with embedded assets (no CDN; works offline and without script), a cookie session that is the
// registry's own login session, and CSRF protection on every form.
package portal

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Status is what the landing page shows about the running stack.
type Status struct {
	Version      string
	TrustDomain  string
	StoreDialect string
	StoreOK      bool
}

// StatusFunc reports the stack's status for the landing page.
type StatusFunc func(ctx context.Context) Status

// Config is what the portal runs on: the registry's own services (it has no store or
// authentication of its own).
type Config struct {
	Accounts   *registry.Accounts
	Cards      *registry.Cards
	Onboarding *registry.Onboarding
	// Templates renders agent-card templates (nil: the templates pages say they are off).
	Templates *registry.Templates
	// Payments and AuthenticateAgent let the wallet send AVT as an agent of the developer
	// (nil: where the ledger runs in another process; the wallet then only reads).
	Payments          Payments
	AuthenticateAgent AgentAuthenticator
	// CheckLogin counts a login attempt against the API's login budgets (nil: no limit).
	CheckLogin func(ctx context.Context, email string) error
	Status     StatusFunc
	// PublicURL is the registry's base URL (the CLI commands the pages show point at it; an
	// https URL makes the cookies Secure).
	PublicURL string
	Logger    *slog.Logger
	// Economy runs the staking, reputation, dispute, governance, federation and admin pages
	// (nil: they say their service is not in this process).
	Economy *Economy
}

// Cookie names.
const (
	// SessionCookie holds the login session (HttpOnly, SameSite=Lax, Secure behind TLS).
	SessionCookie = "sov_session"
	// CSRFCookie holds the anonymous forms' CSRF token (sign-up, log-in, verify).
	CSRFCookie = "sov_csrf"
	csrfField  = "csrf"
)

// contentSecurityPolicy allows the portal's own stylesheet and nothing inline, and no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

type portal struct {
	cfg    Config
	log    *slog.Logger
	pages  map[string]*template.Template
	secure bool
}

// Handler serves the portal pages under /portal/.
func Handler(cfg Config) http.Handler {
	p := &portal{cfg: cfg, log: cfg.Logger, pages: parsePages()}
	if p.log == nil {
		p.log = slog.Default()
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme == "https" {
		p.secure = true
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /portal/static/", http.StripPrefix("/portal/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /portal/{$}", p.home)
	mux.HandleFunc("GET /portal/signup", p.anon(p.signupPage))
	mux.HandleFunc("POST /portal/signup", p.anon(p.signup))
	mux.HandleFunc("GET /portal/verify", p.anon(p.verifyPage))
	mux.HandleFunc("POST /portal/verify", p.anon(p.verify))
	mux.HandleFunc("POST /portal/verify/resend", p.anon(p.resend))
	mux.HandleFunc("GET /portal/login", p.anon(p.loginPage))
	mux.HandleFunc("POST /portal/login", p.anon(p.login))
	mux.HandleFunc("POST /portal/logout", p.user(p.logout))
	mux.HandleFunc("GET /portal/agents", p.user(p.agents))
	mux.HandleFunc("GET /portal/agents/new", p.user(p.newCardPage))
	mux.HandleFunc("POST /portal/agents/new", p.user(p.createCard))
	mux.HandleFunc("GET /portal/agents/{id}", p.user(p.editCardPage))
	mux.HandleFunc("POST /portal/agents/{id}", p.user(p.updateCard))
	mux.HandleFunc("GET /portal/keys", p.user(p.listPage("API keys", "keys.html", p.loadKeys)))
	mux.HandleFunc("POST /portal/keys", p.user(p.createKey))
	mux.HandleFunc("POST /portal/keys/{id}/revoke", p.user(p.revokeKey))
	mux.HandleFunc("GET /portal/tokens", p.user(p.listPage("Bootstrap tokens", "tokens.html", p.loadTokens)))
	mux.HandleFunc("POST /portal/tokens", p.user(p.createToken))
	mux.HandleFunc("POST /portal/tokens/{id}/revoke", p.user(p.revokeToken))
	p.routesDeveloper(mux)
	p.routesEconomy(mux)
	p.routesAdmin(mux)
	mux.HandleFunc("/portal/", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusNotFound, "message.html", &view{Title: "Not found",
			Message: "There is no such page in the portal."})
	})
	// A form posted from another site (Sec-Fetch-Site / Origin) is refused before any token is
	// read; the per-form token below catches the rest.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(p.csrfRefused))
	return headers(cop.Handler(mux))
}

// headers sets the headers every portal answer carries.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/portal/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title string
	// User is the signed-in developer (nil: anonymous).
	User *registry.Developer
	// CSRF is the token every form of the page carries.
	CSRF string
	// Flash is a success message, Error a failure not tied to one field, Fields failures by
	// form field.
	Flash   string
	Error   string
	Fields  map[string]string
	Message string
	// Form echoes what was submitted (never passwords).
	Form map[string]string
	Data any
}

// session is the signed-in request's caller.
type session struct {
	subject policy.Subject
	dev     *registry.Developer
}

type sessionKey struct{}

func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// currentSession reads the session cookie ("" or a dead session: nil).
func (p *portal) currentSession(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	sub, dev, err := p.cfg.Accounts.AuthenticateSessionCookie(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	return &session{subject: sub, dev: dev}
}

// user wraps a page for signed-in developers: without a live session it redirects to the login
// page (then back); a POST must carry the session's CSRF token.
func (p *portal) user(h func(http.ResponseWriter, *http.Request, *view)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.currentSession(r)
		if s == nil {
			if r.Method != http.MethodGet {
				p.clearSession(w, r)
				p.render(w, r, http.StatusUnauthorized, "message.html", &view{Title: "Signed out",
					Message: "You are not signed in (or your session has ended). Log in and try again."})
				return
			}
			http.Redirect(w, r, "/portal/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		v := &view{User: s.dev, CSRF: p.cfg.Accounts.SessionMAC(s.subject.CredentialID, "csrf")}
		if r.Method == http.MethodPost && !p.formTokenOK(w, r, v.CSRF) {
			return
		}
		h(w, r.WithContext(withSession(r.Context(), s)), v)
	}
}

// anon wraps a page for anyone: its forms carry the CSRF cookie's token (set on first visit).
func (p *portal) anon(h func(http.ResponseWriter, *http.Request, *view)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{}
		if s := p.currentSession(r); s != nil {
			v.User = s.dev
		}
		c, err := r.Cookie(CSRFCookie)
		if r.Method == http.MethodPost {
			if err != nil || len(c.Value) < 20 {
				p.csrfRefused(w, r)
				return
			}
			if !p.formTokenOK(w, r, c.Value) {
				return
			}
		}
		if err == nil && len(c.Value) >= 20 {
			v.CSRF = c.Value
		} else {
			v.CSRF = randomToken()
			http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: v.CSRF, Path: "/portal/", HttpOnly: true,
				Secure: p.secureReq(r), SameSite: http.SameSiteStrictMode})
		}
		h(w, r, v)
	}
}

// maxForm bounds a form body (the largest is an agent card).
const maxForm = 256 << 10

// formTokenOK parses the form and checks its CSRF token against want; a mismatch is answered.
func (p *portal) formTokenOK(w http.ResponseWriter, r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.render(w, r, http.StatusRequestEntityTooLarge, "message.html", &view{Title: "Form not accepted",
			Message: "The form could not be read (it may be too large). Go back and try again."})
		return false
	}
	got := r.PostForm.Get(csrfField)
	if got == "" || !constantEqual(got, want) {
		p.csrfRefused(w, r)
		return false
	}
	return true
}

func (p *portal) csrfRefused(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusForbidden, "message.html", &view{Title: "Form refused",
		Message: "This form was refused because it did not come from this portal's own page (or the page was too old). Go back, reload the page and try again."})
}

func constantEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := range len(a) {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *portal) secureReq(r *http.Request) bool { return p.secure || r.TLS != nil }

// startSession sets the session cookie of a fresh login (a new session each time, so a cookie
// planted before login is never the one used after it).
func (p *portal) startSession(w http.ResponseWriter, r *http.Request, t *registry.Tokens) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: p.cfg.Accounts.SessionCookie(t), Path: "/portal/",
		HttpOnly: true, Secure: p.secureReq(r), SameSite: http.SameSiteLaxMode, Expires: time.Now().Add(registry.SessionTTL)})
}

func (p *portal) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/portal/", MaxAge: -1,
		HttpOnly: true, Secure: p.secureReq(r), SameSite: http.SameSiteLaxMode})
}

// render writes a page; a template failure is logged (the page is then cut short).
func (p *portal) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.pages[page].ExecuteTemplate(w, "layout", v); err != nil {
		p.log.ErrorContext(r.Context(), "render portal page", "page", page, "err", err)
	}
}

// fail renders page with err: the envelope's message next to the field it names, or at the top.
// An error that is not the application's own (a bug, a store down) is logged and shown as a
// temporary failure, never its text.
func (p *portal) fail(w http.ResponseWriter, r *http.Request, page string, v *view, err error) {
	status, msg, field := describe(err)
	if status == http.StatusServiceUnavailable {
		p.log.ErrorContext(r.Context(), "portal request failed", "path", r.URL.Path, "err", err)
	}
	if field != "" {
		if v.Fields == nil {
			v.Fields = map[string]string{}
		}
		v.Fields[field] = msg
	} else {
		v.Error = msg
	}
	p.render(w, r, status, page, v)
}

// describe is how err reads to a person: the status to answer, the message and the form field
// it is about ("" when none of the form's).
func describe(err error) (status int, msg, field string) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.Internal {
		return http.StatusServiceUnavailable, "Something went wrong on our side and nothing was changed. Please try again in a moment.", ""
	}
	msg = ae.Message
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
	}
	if f, ok := ae.Details["field"].(string); ok {
		field = f
	}
	return httpapi.StatusOf(ae.Kind), msg, field
}

// safeNext is where to go after logging in: a portal page, else the dashboard.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/portal/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		if u, err := url.Parse(next); err == nil && u.Host == "" && u.Scheme == "" {
			return next
		}
	}
	return "/portal/"
}

var errNoOnboarding = apperr.New(apperr.Unavailable, "ONBOARDING_UNAVAILABLE", "agent registration is not available on this registry")

// failField is the form field err names ("" when none).
func failField(err error) string {
	if ae, ok := apperr.As(err); ok {
		f, _ := ae.Details["field"].(string)
		return f
	}
	return ""
}

// withField is err shown next to form field f (an error not the application's is unchanged).
func withField(err error, f string) error {
	if ae, ok := apperr.As(err); ok && ae.Kind != apperr.Internal {
		return ae.With("field", f)
	}
	return err
}
