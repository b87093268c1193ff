package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/ratelimit"
)

// Rate-limit classes of operations.
const (
	// RateDefault applies to every operation without a class.
	RateDefault = "default"
	// RateAuth applies to credential endpoints (login, register, recovery): a small budget per
	// client address, so password guessing is slow.
	RateAuth = "auth"
)

// RateLimits applies per-caller limits: the caller is the authenticated subject, or the client
// address for anonymous requests. The Limiter is in memory, or Redis-backed so replicas share
// limits. When the limiter itself fails (Redis down), requests are let through and the failure
// logged: an outage of the limiter must not become an outage of the API.
type RateLimits struct {
	Limiter ratelimit.Limiter
	// Classes maps a class name to its limit; RateDefault must be present.
	Classes map[string]ratelimit.Limit
	Metrics *Metrics
	Log     *slog.Logger
}

// Middleware is the huma middleware enforcing the class limit of each operation.
func (rl *RateLimits) Middleware(hctx huma.Context, next func(huma.Context)) {
	class := RateDefault
	if op := hctx.Operation(); op != nil {
		if c, ok := op.Metadata[MetaRateClass].(string); ok {
			class = c
		}
	}
	addr := hctx.RemoteAddr()
	if r, _ := unwrapRequest(hctx); r != nil {
		addr = clientIP(r)
	}
	if err := rl.Check(hctx.Context(), class, callerKey(hctx.Context(), class, addr)); err != nil {
		writeHuma(hctx, err)
		return
	}
	next(hctx)
}

// CheckRequest counts one request of a plain net/http route (not a huma operation) against the
// limit of class, keyed by its caller exactly as Middleware keys it — the authenticated subject,
// else the client address (forwarded headers are not trusted) — so such routes share the
// caller's budget with the operations of the same class.
func (rl *RateLimits) CheckRequest(r *http.Request, class string) error {
	return rl.Check(r.Context(), class, callerKey(r.Context(), class, clientIP(r)))
}

// callerKey is the limiter key of a request in class: whom it counts against, the
// authenticated subject, else the client address.
func callerKey(ctx context.Context, class, addr string) string {
	if s := Subject(ctx); s.ID != "" {
		return class + "|sub:" + s.ID
	}
	return class + "|ip:" + addr
}

// Check counts one event for key against the limit of class, and returns a TOO_MANY_REQUESTS
// error (with Retry-After) when the limit is exhausted. Handlers use it for limits keyed by
// something only they know, such as the email a login names.
func (rl *RateLimits) Check(ctx context.Context, class, key string) error {
	l, ok := rl.Classes[class]
	if !ok {
		l = rl.Classes[RateDefault]
	}
	res, err := rl.Limiter.Allow(ctx, key, l)
	if err != nil {
		if rl.Log != nil {
			rl.Log.WarnContext(ctx, "rate limiter unavailable; request allowed", "class", class, "err", err)
		}
		return nil
	}
	if res.Allowed {
		return nil
	}
	if rl.Metrics != nil {
		rl.Metrics.rateLimited.WithLabelValues(class).Inc()
	}
	secs := int(math.Ceil(res.RetryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return apperr.New(apperr.TooManyRequests, "RATE_LIMITED", "too many requests; retry later").
		With("retry_after_seconds", secs).With("limit", l.String())
}
