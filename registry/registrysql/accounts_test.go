package registrysql_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/email/emailtest"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	svc   *registry.Accounts
	clock *clock
	mail  *emailtest.Mailbox
	db    *store.DB
}

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	m := emailtest.New()
	svc, err := registry.NewAccounts(context.Background(), registry.AccountsConfig{
		Store: registrysql.NewAccounts(db), Mailer: m, Authz: policy.New(), Issuer: "http://reg.test", PublicURL: "http://reg.test",
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}, Now: c.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, clock: c, mail: m, db: db}
}

const pw = "a long enough password"

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if apperr.CodeOf(err) != code {
		t.Fatalf("error %v, want code %q", err, code)
	}
}

func TestVerification_ExpiresAfter24Hours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		if _, err := e.svc.Register(ctx, registry.RegisterInput{Email: "x@example.com", Name: "X", Password: pw}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(registry.VerificationTTL)
		_, err := e.svc.VerifyEmail(ctx, e.mail.Token(t, "x@example.com"))
		wantCode(t, err, "VERIFICATION_TOKEN_EXPIRED")
		if err := e.svc.ResendVerification(ctx, "x@example.com"); err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.VerifyEmail(ctx, e.mail.Token(t, "x@example.com"))
		if err != nil || !d.Verified() {
			t.Fatalf("verify with new link: %v", err)
		}
	})
}

func TestTokens_ExpireOnSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		if _, err := e.svc.Register(ctx, registry.RegisterInput{Email: "t@example.com", Name: "T", Password: pw}); err != nil {
			t.Fatal(err)
		}
		tok, err := e.svc.Login(ctx, "t@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticateAccessToken(ctx, tok.AccessToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(credential.AccessTokenTTL + time.Second)
		_, err = e.svc.AuthenticateAccessToken(ctx, tok.AccessToken)
		wantCode(t, err, "TOKEN_EXPIRED")
		// The refresh token still works, and yields a working access token.
		next, err := e.svc.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticateAccessToken(ctx, next.AccessToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(registry.RefreshTokenTTL)
		_, err = e.svc.Refresh(ctx, next.RefreshToken)
		wantCode(t, err, "REFRESH_TOKEN_EXPIRED")
	})
}

func TestRefresh_ConcurrentUseOfOneTokenSucceedsAtMostOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		if _, err := e.svc.Register(ctx, registry.RegisterInput{Email: "c@example.com", Name: "C", Password: pw}); err != nil {
			t.Fatal(err)
		}
		tok, err := e.svc.Login(ctx, "c@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.svc.Refresh(ctx, tok.RefreshToken)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch apperr.CodeOf(err) {
			case "":
				ok++
			case "REFRESH_TOKEN_REUSED", "SESSION_REVOKED":
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok > 1 {
			t.Fatalf("%d concurrent refreshes with one token succeeded", ok)
		}
		// Any reuse revoked the session: the login's access token no longer works.
		if ok < n {
			_, err := e.svc.AuthenticateAccessToken(ctx, tok.AccessToken)
			wantCode(t, err, "SESSION_REVOKED")
		}
	})
}

func TestRegister_ConcurrentSameEmailCreatesOneAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.svc.Register(ctx, registry.RegisterInput{Email: "same@example.com", Name: fmt.Sprint("N", i), Password: pw})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, registry.ErrEmailTaken) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d registrations of one email succeeded", ok)
		}
	})
}

func TestNewAccounts_ReplicasShareTheSigningKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, b := newEnv(t, db), newEnv(t, db)
		ctx := context.Background()
		if _, err := a.svc.Register(ctx, registry.RegisterInput{Email: "r@example.com", Name: "R", Password: pw}); err != nil {
			t.Fatal(err)
		}
		tok, err := a.svc.Login(ctx, "r@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.AuthenticateAccessToken(ctx, tok.AccessToken); err != nil {
			t.Fatalf("replica b rejects replica a's token: %v", err)
		}
	})
}

func TestEnsureAdmin_CreatesOnceAndVerifyDirect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		key, err := e.svc.EnsureAdmin(ctx, "admin@example.com")
		if err != nil || key == "" {
			t.Fatalf("first EnsureAdmin = %q, %v", key, err)
		}
		again, err := e.svc.EnsureAdmin(ctx, "admin@example.com")
		if err != nil || again != "" {
			t.Fatalf("second EnsureAdmin = %q, %v", again, err)
		}
		s, err := e.svc.AuthenticateAPIKey(ctx, key)
		if err != nil || !s.HasRole(policy.RoleAdmin) {
			t.Fatalf("admin key subject %+v, %v", s, err)
		}
		if _, err := e.svc.Register(ctx, registry.RegisterInput{Email: "u@example.com", Name: "U", Password: pw}); err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.VerifyEmailDirect(ctx, "U@example.com")
		if err != nil || !d.Verified() {
			t.Fatalf("VerifyEmailDirect = %v", err)
		}
		_, err = e.svc.VerifyEmailDirect(ctx, "nobody@example.com")
		wantCode(t, err, "DEVELOPER_NOT_FOUND")
	})
}

// TestRefreshRotation_Properties drives random sequences of logins, refreshes (of current and
// of stale tokens) and logouts, and checks after each step: a session's current refresh token
// works only while its session is open, a stale token never works and revokes its session, and
// a revoked session never comes back.
func TestRefreshRotation_Properties(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db)
	ctx := context.Background()
	if _, err := e.svc.Register(ctx, registry.RegisterInput{Email: "p@example.com", Name: "P", Password: pw}); err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(rt *rapid.T) {
		type sess struct {
			current string
			stale   []string
			access  string
			revoked bool
		}
		var sessions []*sess
		for step := rapid.IntRange(1, 25).Draw(rt, "steps"); step > 0; step-- {
			if len(sessions) == 0 || rapid.IntRange(0, 5).Draw(rt, "login?") == 0 {
				tok, err := e.svc.Login(ctx, "p@example.com", pw)
				if err != nil {
					rt.Fatal(err)
				}
				sessions = append(sessions, &sess{current: tok.RefreshToken, access: tok.AccessToken})
				continue
			}
			s := sessions[rapid.IntRange(0, len(sessions)-1).Draw(rt, "session")]
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0: // refresh with the current token
				next, err := e.svc.Refresh(ctx, s.current)
				if s.revoked {
					if apperr.CodeOf(err) != "SESSION_REVOKED" {
						rt.Fatalf("refresh on revoked session: %v", err)
					}
					continue
				}
				if err != nil {
					rt.Fatalf("refresh with current token: %v", err)
				}
				s.stale = append(s.stale, s.current)
				s.current, s.access = next.RefreshToken, next.AccessToken
			case 1: // replay a stale token
				if len(s.stale) == 0 {
					continue
				}
				_, err := e.svc.Refresh(ctx, s.stale[rapid.IntRange(0, len(s.stale)-1).Draw(rt, "stale")])
				want := "REFRESH_TOKEN_REUSED"
				if s.revoked {
					want = "SESSION_REVOKED"
				}
				if apperr.CodeOf(err) != want {
					rt.Fatalf("stale refresh: %v, want %s", err, want)
				}
				s.revoked = true
			case 2: // logout
				if err := e.svc.Logout(ctx, policy.Subject{}, s.current); err != nil {
					rt.Fatal(err)
				}
				s.revoked = true
			}
			for _, s := range sessions {
				_, err := e.svc.AuthenticateAccessToken(ctx, s.access)
				if s.revoked != (apperr.CodeOf(err) == "SESSION_REVOKED") || (!s.revoked && err != nil) {
					rt.Fatalf("access token of session (revoked=%v): %v", s.revoked, err)
				}
			}
		}
	})
}
