package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
)

// authenticator resolves every kind of bearer credential to one policy subject: developer API
// keys and access tokens (EdDSA JWTs) through the registry, and agent JWT-SVIDs (ES256, audience
// = the TEG's SPIFFE ID) through the identity issuer's bundle.
type authenticator struct {
	accounts *registry.Accounts
	issuer   identity.Issuer
	audience spiffeid.ID

	// verified remembers JWT-SVIDs that verified, by the token's hash, until they expire: an agent
	// presents the same token for its whole (short) life, and ECDSA verification is most of the
	// cost of authenticating it.
	mu       sync.Mutex
	verified map[[32]byte]verifiedSVID
}

type verifiedSVID struct {
	subject policy.Subject
	expiry  time.Time
}

// maxVerifiedSVIDs bounds the JWT-SVID cache; it is emptied when full.
const maxVerifiedSVIDs = 100_000

func (a *authenticator) AuthenticateAPIKey(ctx context.Context, key string) (policy.Subject, error) {
	return a.accounts.AuthenticateAPIKey(ctx, key)
}

func (a *authenticator) AuthenticateAccessToken(ctx context.Context, token string) (policy.Subject, error) {
	if jwtAlg(token) != "ES256" {
		return a.accounts.AuthenticateAccessToken(ctx, token)
	}
	key := sha256.Sum256([]byte(token))
	now := time.Now()
	a.mu.Lock()
	v, ok := a.verified[key]
	a.mu.Unlock()
	if ok && now.Before(v.expiry) {
		return v.subject, nil
	}
	id, exp, err := identity.VerifyJWTSVID(ctx, a.issuer, token, a.audience)
	if err != nil {
		return policy.Subject{}, err
	}
	s := policy.Subject{Kind: policy.KindService, ID: id.String(), SPIFFEID: id.String(), AuthMethod: "jwt_svid"}
	if agent, ok := identity.AgentIDOf(id); ok {
		s = policy.Subject{Kind: policy.KindAgent, ID: agent, SPIFFEID: id.String(), AuthMethod: "jwt_svid"}
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerifiedSVIDs {
		a.verified = map[[32]byte]verifiedSVID{}
	}
	a.verified[key] = verifiedSVID{subject: s, expiry: exp}
	a.mu.Unlock()
	return s, nil
}

// jwtAlg is the "alg" of a JWT's header, without verifying anything ("" when unreadable).
func jwtAlg(token string) string {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.Alg
}
