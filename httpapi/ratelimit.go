package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strings"

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
	// RateAuthFailure counts failed authentications per client address (see AuthFailures).
	RateAuthFailure = "auth_failure"
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
	// Verified, when set, names bearer tokens that verified before: AuthFailures does not
	// look up the address's failure budget for them (nil: it looks for every credential). Set
	// it for a limiter whose look-up costs more than a hash and a map read (Redis: a round
	// trip per request).
	Verified VerifiedCredentials
}

// VerifiedCredentials knows the bearer tokens that verified before and are still valid (an
// authenticator's cache of verified signatures).
type VerifiedCredentials interface {
	Verified(token string) bool
}

// Middleware is the huma middleware enforcing the class limit of each operation.
func (rl *RateLimits) Middleware(hctx huma.Context, next func(huma.Context)) {
	class := RateDefault
	if op := hctx.Operation(); op != nil {
		if c, ok := op.Metadata[MetaRateClass].(string); ok {
			class = c
		}
	}
	if err := rl.Check(hctx.Context(), class, callerKey(hctx.Context(), class, remoteAddr(hctx))); err != nil {
		writeHuma(hctx, err)
		return
	}
	next(hctx)
}

// AuthFailures is the huma middleware, run before Authenticate, that limits failed
// authentications per client address under the RateAuthFailure class (it does nothing without
// one). A request answered 401 for credentials it presented — a wrong API key, token, client
// secret or password, not a missing one — spends one unit of its address's budget; successful
// requests spend nothing. A request that presents credentials (an Authorization or X-Api-Key
// header, a TLS client certificate, or any call to an operation of the RateAuth class, whose
// bodies carry passwords and secrets) from an address whose budget is spent is refused with
// 429 and Retry-After before any credential is checked, so a right guess cannot be told from a
// wrong one. Anonymous requests go on, and so do requests whose bearer token verified before
// (RateLimits.Verified): such a token is no guess — only its issuer can make one — so it
// skips the budget's lookup (a read of the shared limiter on every request otherwise);
// should it fail now (its agent suspended), the failure still counts.
func (rl *RateLimits) AuthFailures(hctx huma.Context, next func(huma.Context)) {
	l, ok := rl.Classes[RateAuthFailure]
	if !ok {
		next(hctx)
		return
	}
	ctx := hctx.Context()
	key := RateAuthFailure + "|ip:" + remoteAddr(hctx)
	if presentsCredentials(hctx) && !rl.verifiedBearer(hctx) {
		res, err := rl.Limiter.Peek(ctx, key, l)
		switch {
		case err != nil:
			rl.unavailable(ctx, RateAuthFailure, err)
		case !res.Allowed:
			writeHuma(hctx, rl.limited(RateAuthFailure, l, res))
			return
		}
	}
	next(hctx)
	if info := infoFrom(ctx); info != nil && info.authFailed {
		// Counted even when the client has gone: hanging up must not make a guess free.
		if _, err := rl.Limiter.Allow(context.WithoutCancel(ctx), key, l); err != nil {
			rl.unavailable(ctx, RateAuthFailure, err)
		}
	}
}

// verifiedBearer reports whether the request's only credential is a bearer token that
// verified before (RateLimits.Verified), on an operation outside the RateAuth class (whose
// bodies carry secrets of their own).
func (rl *RateLimits) verifiedBearer(hctx huma.Context) bool {
	if rl.Verified == nil || hctx.Header("X-Api-Key") != "" {
		return false
	}
	if op := hctx.Operation(); op != nil && op.Metadata[MetaRateClass] == RateAuth {
		return false
	}
	scheme, token, ok := strings.Cut(hctx.Header("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	return token != "" && rl.Verified.Verified(token)
}

// presentsCredentials reports whether a request carries credentials for AuthFailures to guard.
func presentsCredentials(hctx huma.Context) bool {
	if hctx.Header("Authorization") != "" || hctx.Header("X-Api-Key") != "" {
		return true
	}
	// (A TLS client certificate alone is no guess: only the CA can make one that verifies.)
	op := hctx.Operation()
	return op != nil && op.Metadata[MetaRateClass] == RateAuth
}

// remoteAddr is the client address of a huma request (forwarded headers are not trusted).
func remoteAddr(hctx huma.Context) string {
	if r, _ := unwrapRequest(hctx); r != nil {
		return clientIP(r)
	}
	return hctx.RemoteAddr()
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
		rl.unavailable(ctx, class, err)
		return nil
	}
	if res.Allowed {
		return nil
	}
	return rl.limited(class, l, res)
}

// unavailable logs a failure of the limiter itself (the request is let through).
func (rl *RateLimits) unavailable(ctx context.Context, class string, err error) {
	if rl.Log != nil {
		rl.Log.WarnContext(ctx, "rate limiter unavailable; request allowed", "class", class, "err", err)
	}
}

// limited is the TOO_MANY_REQUESTS answer to an event res refused under l of class.
func (rl *RateLimits) limited(class string, l ratelimit.Limit, res ratelimit.Result) error {
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
