package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/ratelimit"
)

var tiny = ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2}

func TestStack_RateLimitRefusesOverBurst(t *testing.T) {
	s := newStack(t, stackOptions{classes: map[string]ratelimit.Limit{httpapi.RateDefault: tiny}})
	for i := range 2 {
		if r := s.do(t, http.MethodGet, "/whoami", nil); r.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.Code, r.Body.String())
		}
	}
	r := s.do(t, http.MethodGet, "/whoami", nil)
	r.wantError(t, http.StatusTooManyRequests, "RATE_LIMITED")
	ra, err := strconv.Atoi(r.Header().Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Errorf("Retry-After = %q, want an integer >= 1", r.Header().Get("Retry-After"))
	}
	if got := r.env.Error.Details["retry_after_seconds"]; got != float64(ra) {
		t.Errorf("details.retry_after_seconds = %v, want %d", got, ra)
	}
	if got, _ := r.env.Error.Details["limit"].(string); !strings.Contains(got, "burst 2") {
		t.Errorf("details.limit = %q", got)
	}
	if v, _ := counterValue(t, s, "sovereign_rate_limit_hits_total", map[string]string{"class": httpapi.RateDefault}); v != 1 {
		t.Errorf("rate_limit_hits{class=default} = %v, want 1", v)
	}
	line := s.log.accessLine(t, r.env.Error.RequestID)
	if line["status"] != float64(429) || line["error_code"] != "RATE_LIMITED" {
		t.Errorf("access line = %v", line)
	}
}

func TestStack_RateLimitIsPerCaller(t *testing.T) {
	s := newStack(t, stackOptions{classes: map[string]ratelimit.Limit{httpapi.RateDefault: tiny}})
	// Alice spends her budget; Bob and the anonymous caller keep theirs.
	for range 2 {
		s.do(t, http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+aliceToken)
	}
	s.do(t, http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+aliceToken).wantError(t, http.StatusTooManyRequests, "RATE_LIMITED")
	// The same subject through an API key shares the budget.
	s.do(t, http.MethodGet, "/whoami", nil, "X-Api-Key", aliceKey).wantError(t, http.StatusTooManyRequests, "RATE_LIMITED")
	if r := s.do(t, http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+bobToken); r.Code != http.StatusOK {
		t.Errorf("bob: %d %s", r.Code, r.Body.String())
	}
	if r := s.do(t, http.MethodGet, "/whoami", nil); r.Code != http.StatusOK {
		t.Errorf("anonymous: %d %s", r.Code, r.Body.String())
	}
}

func TestStack_RateClassFromOperationMetadata(t *testing.T) {
	s := newStack(t, stackOptions{classes: map[string]ratelimit.Limit{
		httpapi.RateDefault: generous,
		httpapi.RateAuth:    {Rate: 1, Period: time.Hour, Burst: 1},
	}})
	if r := s.do(t, http.MethodPost, "/login", nil); r.Code >= 400 {
		t.Fatalf("first login: %d %s", r.Code, r.Body.String())
	}
	s.do(t, http.MethodPost, "/login", nil).wantError(t, http.StatusTooManyRequests, "RATE_LIMITED")
	if r := s.do(t, http.MethodGet, "/whoami", nil); r.Code != http.StatusOK {
		t.Errorf("default-class route limited by the auth class: %d", r.Code)
	}
	if v, _ := counterValue(t, s, "sovereign_rate_limit_hits_total", map[string]string{"class": httpapi.RateAuth}); v != 1 {
		t.Errorf("rate_limit_hits{class=auth} = %v, want 1", v)
	}
}

// failingLimiter is a limiter whose store is down.
type failingLimiter struct{ calls atomic.Int64 }

func (f *failingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	f.calls.Add(1)
	return ratelimit.Result{}, errors.New("redis: connection refused")
}

func (f *failingLimiter) Peek(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return f.Allow(ctx, key, l)
}

func TestStack_RateLimiterFailureLetsRequestsThrough(t *testing.T) {
	lim := &failingLimiter{}
	s := newStack(t, stackOptions{limiter: lim, classes: map[string]ratelimit.Limit{httpapi.RateDefault: tiny}})
	for i := range 5 {
		if r := s.do(t, http.MethodGet, "/whoami", nil); r.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.Code, r.Body.String())
		}
	}
	if lim.calls.Load() != 5 {
		t.Errorf("limiter consulted %d times, want 5", lim.calls.Load())
	}
	if !strings.Contains(s.log.String(), "rate limiter unavailable") {
		t.Errorf("limiter failure not logged:\n%s", s.log.String())
	}
}

// recordingLimiter allows everything and remembers the keys it saw.
type recordingLimiter struct{ keys chan string }

func (r *recordingLimiter) Allow(_ context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	r.keys <- key
	return ratelimit.Result{Allowed: true, Limit: l}, nil
}

func (r *recordingLimiter) Peek(_ context.Context, _ string, l ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{Allowed: true, Limit: l}, nil
}

func TestStack_RateLimitKeys(t *testing.T) {
	lim := &recordingLimiter{keys: make(chan string, 10)}
	s := newStack(t, stackOptions{limiter: lim})
	s.do(t, http.MethodGet, "/whoami", nil)
	s.do(t, http.MethodGet, "/whoami", nil, "Authorization", "Bearer "+aliceToken)
	s.do(t, http.MethodPost, "/login", nil)
	for _, want := range []string{"default|ip:192.0.2.10", "default|sub:dev_alice", "auth|ip:192.0.2.10"} {
		if got := <-lim.keys; got != want {
			t.Errorf("limiter key = %q, want %q", got, want)
		}
	}
}

func TestRateLimits_Check(t *testing.T) {
	rl := &httpapi.RateLimits{
		Limiter: ratelimit.NewMemory(),
		Classes: map[string]ratelimit.Limit{httpapi.RateDefault: {Rate: 1, Period: time.Hour, Burst: 1}},
		Log:     slog.New(slog.DiscardHandler),
	}
	ctx := context.Background()
	// An unknown class falls back to the default limit.
	if err := rl.Check(ctx, "login_email", "k"); err != nil {
		t.Fatalf("first check: %v", err)
	}
	err := rl.Check(ctx, "login_email", "k")
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != apperr.TooManyRequests || ae.Code != "RATE_LIMITED" {
		t.Fatalf("second check = %v, want RATE_LIMITED", err)
	}
	if secs, _ := ae.Details["retry_after_seconds"].(int); secs < 3500 || secs > 3600 {
		t.Errorf("retry_after_seconds = %v, want about an hour", ae.Details["retry_after_seconds"])
	}
	if env := httpapi.FromError(ctx, err); env.GetHeaders().Get("Retry-After") == "" {
		t.Errorf("the envelope of a Check error has no Retry-After")
	}
	if err := rl.Check(ctx, "login_email", "other"); err != nil {
		t.Errorf("another key was limited: %v", err)
	}
}
