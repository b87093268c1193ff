package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/redistest"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// TestPasswordHashing_OverflowAnswers503 runs a stack whose argon2id budget holds one hash and
// no queue, with hashes slow enough to overlap: concurrent registrations beyond the budget
// answer 503 SERVER_BUSY with Retry-After (never a 500, never a partial account), the others
// 201, and /metrics counts the refusals.
func TestPasswordHashing_OverflowAnswers503(t *testing.T) {
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0"
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	cfg.RateLimits.AuthPerMinute, cfg.RateLimits.AuthBurst = 100000, 100000
	cfg.PasswordHashing = config.PasswordHashing{MaxMemoryMiB: 1}
	cfg.Metrics.Token = "a-metrics-token-for-tests"
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	mail := newMailbox()
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DB: storetest.SQLite(t), Mailer: mail,
		PasswordParams: credential.PasswordParams{MemoryKiB: 8 * 1024, Time: 3, Threads: 1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	s := &stack{t: t, srv: hs, mail: mail}

	var (
		mu              sync.Mutex
		created, busy   int
		registeredEmail []string
	)
	for round := 0; round < 5 && busy == 0; round++ {
		var wg sync.WaitGroup
		for i := range 12 {
			email := fmt.Sprintf("busy%d-%d@example.com", round, i)
			wg.Go(func() {
				r := s.do("POST", "/api/v1/auth/register", map[string]string{"email": email, "name": "B", "password": goodPassword})
				mu.Lock()
				defer mu.Unlock()
				switch r.Status {
				case 201:
					created++
					registeredEmail = append(registeredEmail, email)
				case 503:
					r.want(t, 503, "SERVER_BUSY")
					if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
						t.Errorf("503 without a Retry-After: %q", r.Header.Get("Retry-After"))
					}
					busy++
				default:
					t.Errorf("register: %d %s", r.Status, r.Raw)
				}
			})
		}
		wg.Wait()
	}
	if busy == 0 || created == 0 {
		t.Fatalf("created %d, busy %d: want some of each", created, busy)
	}
	m := s.do("GET", "/metrics", nil, bearer(cfg.Metrics.Token)).want(t, 200, "")
	if !strings.Contains(string(m.Raw), "sovereign_password_hashes_rejected_total "+strconv.Itoa(busy)) {
		t.Fatalf("/metrics does not count %d refusals:\n%s", busy, grepLines(string(m.Raw), "sovereign_password"))
	}
	// Guessed recovery keys are refused before any hashing: a burst of them never meets the
	// budget.
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			s.do("POST", "/api/v1/auth/recover", map[string]string{"email": registeredEmail[0],
				"recovery_key": "avrk_" + strings.Repeat(strconv.Itoa(i%10), 43), "new_password": "a brand new password"}).want(t, 401, "INVALID_RECOVERY_KEY")
		})
	}
	wg.Wait()
	// The budget frees up: a login (a verification) goes through afterwards.
	s.do("POST", "/api/v1/auth/login", map[string]string{"email": registeredEmail[0], "password": goodPassword}).want(t, 200, "")
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLogin_GuesserElsewhereDoesNotLockTheOwnerOut: a guesser on one address exhausts only its
// (email, address) budget; the owner logs in from another address. Guessing spread over many
// addresses meets the per-email ceiling, whose refusal points at the recovery key (alike for
// an email without an account), and recovery signs the owner in while the ceiling holds.
func TestLogin_GuesserElsewhereDoesNotLockTheOwnerOut(t *testing.T) {
	limits := func(c *config.Config) {
		c.RateLimits.LoginEmailAddressPerMinute, c.RateLimits.LoginEmailAddressBurst = 3, 3
		c.RateLimits.LoginEmailPerMinute, c.RateLimits.LoginEmailBurst = 6, 6
	}
	eachStack(t, func(t *testing.T, s *stack) { loginLockout(t, s, "") }, limits)
	t.Run("redis", func(t *testing.T) {
		url := redistest.URL(t, "the Redis-backed login limits")
		// Redis keeps the counts between runs: fresh emails each time.
		loginLockout(t, newStack(t, storetest.SQLite(t), limits, func(c *config.Config) { c.Redis = url }), strconv.FormatInt(time.Now().UnixNano(), 36))
	})
}

func loginLockout(t *testing.T, s *stack, suffix string) {
	owner := s.register("owner"+suffix+"@example.com", true)
	login := func(from *stack, email, password string) resp {
		return from.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	}
	attacker := s.fromAddr("127.0.0.2")
	var last resp
	for i := 0; i < 6; i++ {
		if last = login(attacker, owner.Email, fmt.Sprintf("guess number %d", i)); last.Status == 429 {
			break
		}
		last.want(t, 401, "INVALID_CREDENTIALS")
	}
	locked := last.want(t, 429, "RATE_LIMITED")
	login(attacker, owner.Email, goodPassword).want(t, 429, "RATE_LIMITED")
	// The owner, elsewhere, is not locked out.
	home := s.fromAddr("127.0.0.3")
	login(home, owner.Email, goodPassword).want(t, 200, "")

	// Guessing from many addresses meets the per-email ceiling (6 attempts a minute; three
	// were made above plus the owner's, and the attacker's refused ones do not count).
	ceiling := false
	for a := 10; a < 20 && !ceiling; a++ {
		r := login(s.fromAddr(fmt.Sprintf("127.0.0.%d", a)), owner.Email, "another guess here")
		if r.Status == 429 {
			ceiling = true
			locked = r.want(t, 429, "RATE_LIMITED")
			break
		}
		r.want(t, 401, "INVALID_CREDENTIALS")
	}
	if !ceiling {
		t.Fatal("guesses spread over 10 addresses never met the per-email ceiling")
	}
	r := login(s.fromAddr("127.0.0.4"), owner.Email, goodPassword).want(t, 429, "RATE_LIMITED")
	if !strings.Contains(r.Body["error"].(map[string]any)["message"].(string), "recovery key") || r.details()["recover"] != "POST /api/v1/auth/recover" {
		t.Fatalf("the lockout does not tell the owner how to get in: %s", r.Raw)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}

	// An email without an account gets the same answer (nothing says whether it exists).
	var ghost resp
	for a := 30; a < 45; a++ {
		if ghost = login(s.fromAddr(fmt.Sprintf("127.0.0.%d", a)), "ghost"+suffix+"@example.com", "a guess for a ghost"); ghost.Status == 429 {
			break
		}
		ghost.want(t, 401, "INVALID_CREDENTIALS")
	}
	ghost.want(t, 429, "RATE_LIMITED")
	for _, k := range []string{"retry_after_seconds"} {
		delete(ghost.details(), k)
		delete(locked.details(), k)
	}
	if fmt.Sprint(ghost.Body["error"].(map[string]any)["message"], ghost.details()) != fmt.Sprint(locked.Body["error"].(map[string]any)["message"], locked.details()) {
		t.Fatalf("lockouts differ for an existing and a missing email:\n%s\n%s", locked.Raw, ghost.Raw)
	}

	// The way in: a recovery key sets a new password and signs the owner in.
	const newPassword = "a brand new password"
	rec := s.fromAddr("127.0.0.4").do("POST", "/api/v1/auth/recover", map[string]string{"email": owner.Email,
		"recovery_key": owner.RecoveryKeys[0], "new_password": newPassword}).want(t, 200, "")
	s.do("GET", "/api/v1/developers/me", nil, bearer(rec.str("access_token"))).want(t, 200, "")
	if rec.str("refresh_token") == "" || rec.Body["remaining_recovery_keys"].(float64) != 2 {
		t.Fatalf("recover = %s", rec.Raw)
	}
}

// metricsListener returns the stack as reached on its metrics listener (Config.Metrics.Addr).
func (s *stack) metricsListener() *stack {
	c := *s
	c.srv = httptest.NewServer(s.server.MetricsHandler())
	s.t.Cleanup(c.srv.Close)
	return &c
}

// TestMetrics_NotServedToAnonymousCallersOnThePublicListener: without a token the public
// listener has no /metrics and the metrics listener serves it; with a token both require it.
func TestMetrics_NotServedToAnonymousCallersOnThePublicListener(t *testing.T) {
	const token = "scrape-token-0123456789"
	s := newStack(t, storetest.SQLite(t))
	s.do("GET", "/metrics", nil).want(t, 404, "NOT_FOUND")
	s.do("GET", "/metrics", nil, bearer(token)).want(t, 404, "NOT_FOUND")
	if m := s.metricsListener().do("GET", "/metrics", nil).want(t, 200, ""); !strings.Contains(string(m.Raw), "sovereign_http_requests_total") {
		t.Fatalf("metrics listener: %s", m.Raw)
	}
	s.metricsListener().do("GET", "/api/v1/developers/me", nil).want(t, 404, "NOT_FOUND") // the metrics listener serves nothing else

	ts := newStack(t, storetest.SQLite(t), func(c *config.Config) { c.Metrics.Token = token })
	for _, l := range []*stack{ts, ts.metricsListener()} {
		l.do("GET", "/metrics", nil).want(t, 401, "METRICS_TOKEN_REQUIRED")
		l.do("GET", "/metrics", nil, bearer("scrape-token-0123456780")).want(t, 401, "INVALID_METRICS_TOKEN")
		l.do("GET", "/metrics", nil, hdr{"Authorization", "Basic " + token}).want(t, 401, "METRICS_TOKEN_REQUIRED")
		if m := l.do("GET", "/metrics", nil, bearer(token)).want(t, 200, ""); !strings.Contains(string(m.Raw), "go_goroutines") {
			t.Fatalf("metrics with the token: %s", m.Raw)
		}
	}
}

// TestMetrics_ServeMetricsListens serves the metrics listener on a real socket.
func TestMetrics_ServeMetricsListens(t *testing.T) {
	s := newStack(t, storetest.SQLite(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.server.ServeMetrics(ctx, ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "sovereign_password_hashes_in_flight") {
		t.Fatalf("metrics listener: %d %s", res.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
