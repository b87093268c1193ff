package httpapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

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

// PeerAuthenticator is an Authenticator that also resolves the certificate chain a mutual-TLS
// client presented (leaf first) to the subject it speaks for.
type PeerAuthenticator interface {
	AuthenticatePeer(ctx context.Context, chain []*x509.Certificate) (policy.Subject, error)
}

var (
	errBadAuthHeader = apperr.New(apperr.Unauthenticated, "INVALID_AUTHORIZATION_HEADER", `the Authorization header must be "Bearer <token>"`)
	errTwoCreds      = apperr.New(apperr.BadRequest, "AMBIGUOUS_CREDENTIALS", "send either Authorization or X-Api-Key, not both")
)

// Authenticate is a huma middleware that resolves the caller from "Authorization: Bearer …" (an
// access token, or an avreg_ API key) or "X-Api-Key: avreg_…". Requests without credentials go on
// as anonymous (the policy decides what anonymous callers may do); requests with bad credentials
// are refused with 401 here, whatever the route. When a is a PeerAuthenticator, a request
// without those headers that came with a TLS client certificate is the subject of that
// certificate: a bearer token or API key on the same request still decides who the caller is.
func Authenticate(a Authenticator, m *Metrics) func(huma.Context, func(huma.Context)) {
	peers, _ := a.(PeerAuthenticator)
	return func(hctx huma.Context, next func(huma.Context)) {
		authz, key := hctx.Header("Authorization"), hctx.Header("X-Api-Key")
		var chain []*x509.Certificate
		if st := hctx.TLS(); peers != nil && st != nil {
			chain = st.PeerCertificates
		}
		if (authz == "" && key == "" && len(chain) == 0) || (key == "" && isBasic(authz) && clientBasicOp(hctx)) {
			next(hctx)
			return
		}
		var (
			subject policy.Subject
			err     error
		)
		peer := authz == "" && key == ""
		if peer {
			subject, err = peers.AuthenticatePeer(hctx.Context(), chain)
		} else {
			subject, err = authenticate(hctx.Context(), a, authz, key)
		}
		if err != nil {
			m.authFails.WithLabelValues(apperr.CodeOf(err)).Inc()
			writeHuma(hctx, err)
			if info := infoFrom(hctx.Context()); peer && info != nil {
				// A certificate the CA did not sign cannot be guessed: its refusal does not
				// count against the address (RateLimits.AuthFailures guards secrets).
				info.authFailed = false
			}
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

// isBasic reports whether an Authorization header uses the Basic scheme.
func isBasic(authz string) bool {
	scheme, _, _ := strings.Cut(authz, " ")
	return strings.EqualFold(scheme, "Basic")
}

// clientBasicOp reports whether the request's operation reads Basic client credentials itself.
func clientBasicOp(hctx huma.Context) bool {
	op := hctx.Operation()
	return op != nil && op.Metadata[MetaClientBasicAuth] == true
}

// errBadBasic is a malformed "Authorization: Basic" header.
var errBadBasic = apperr.New(apperr.BadRequest, "INVALID_REQUEST",
	`the Authorization header must be "Basic " and base64 of client_id:client_secret, each form-urlencoded`).With("field", "Authorization").With("in", "header")

// ClientBasicAuth reads OAuth2 client credentials from an "Authorization: Basic" header (RFC
// 6749 §2.3.1): base64 of client_id ":" client_secret, each form-urlencoded (so a ":" in the id
// arrives as %3A, and "+" means a space). ok is false when the header is absent or of another
// scheme; a Basic header that does not decode is INVALID_REQUEST.
func ClientBasicAuth(authz string) (id, secret string, ok bool, err error) {
	if !isBasic(authz) {
		return "", "", false, nil
	}
	_, enc, _ := strings.Cut(authz, " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", true, errBadBasic
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", true, errBadBasic
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", true, errBadBasic
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", true, errBadBasic
	}
	return id, secret, true, nil
}

type connStartKey struct{}

// WithConnStart records in a connection's context when the connection was accepted: set it from
// http.Server.ConnContext. A TLS client certificate is verified as of then — as the handshake
// verified it — so a kept-alive connection that outlives its client's short-lived X.509-SVID
// carries on until it closes (the client's next connection presents its rotated SVID), as TLS
// itself would; the server's idle and read timeouts bound how long that is.
func WithConnStart(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, connStartKey{}, t)
}

// ConnStart is when the request's connection was accepted, if WithConnStart recorded it.
func ConnStart(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(connStartKey{}).(time.Time)
	return t, ok
}
