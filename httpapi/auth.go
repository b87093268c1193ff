package httpapi

import (
	"context"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/policy"
)

// Authenticator checks credentials and says whom they speak for.
type Authenticator interface {
	AuthenticateAccessToken(ctx context.Context, token string) (policy.Subject, error)
	AuthenticateAPIKey(ctx context.Context, key string) (policy.Subject, error)
}

var (
	errBadAuthHeader = apperr.New(apperr.Unauthenticated, "INVALID_AUTHORIZATION_HEADER", `the Authorization header must be "Bearer <token>"`)
	errTwoCreds      = apperr.New(apperr.BadRequest, "AMBIGUOUS_CREDENTIALS", "send either Authorization or X-Api-Key, not both")
)

// Authenticate is a huma middleware that resolves the caller from "Authorization: Bearer …" (an
// access token, or an avreg_ API key) or "X-Api-Key: avreg_…". Requests without credentials go on
// as anonymous (the policy decides what anonymous callers may do); requests with bad credentials
// are refused with 401 here, whatever the route.
func Authenticate(a Authenticator, m *Metrics) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		authz, key := hctx.Header("Authorization"), hctx.Header("X-Api-Key")
		if authz == "" && key == "" {
			next(hctx)
			return
		}
		subject, err := authenticate(hctx.Context(), a, authz, key)
		if err != nil {
			m.authFails.WithLabelValues(apperr.CodeOf(err)).Inc()
			writeHuma(hctx, err)
			return
		}
		setSubject(hctx.Context(), subject)
		next(hctx)
	}
}

func authenticate(ctx context.Context, a Authenticator, authz, key string) (policy.Subject, error) {
	if authz != "" && key != "" {
		return policy.Subject{}, errTwoCreds
	}
	if key != "" {
		return a.AuthenticateAPIKey(ctx, strings.TrimSpace(key))
	}
	scheme, token, ok := strings.Cut(authz, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return policy.Subject{}, errBadAuthHeader
	}
	if strings.HasPrefix(token, credential.APIKeyPrefix) {
		return a.AuthenticateAPIKey(ctx, token)
	}
	return a.AuthenticateAccessToken(ctx, token)
}
