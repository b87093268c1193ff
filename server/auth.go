package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

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
}

func (a *authenticator) AuthenticateAPIKey(ctx context.Context, key string) (policy.Subject, error) {
	return a.accounts.AuthenticateAPIKey(ctx, key)
}

func (a *authenticator) AuthenticateAccessToken(ctx context.Context, token string) (policy.Subject, error) {
	if jwtAlg(token) != "ES256" {
		return a.accounts.AuthenticateAccessToken(ctx, token)
	}
	id, err := identity.VerifyJWTSVID(ctx, a.issuer, token, a.audience)
	if err != nil {
		return policy.Subject{}, err
	}
	agent, ok := identity.AgentIDOf(id)
	if !ok {
		return policy.Subject{Kind: policy.KindService, ID: id.String(), SPIFFEID: id.String(), AuthMethod: "jwt_svid"}, nil
	}
	return policy.Subject{Kind: policy.KindAgent, ID: agent, SPIFFEID: id.String(), AuthMethod: "jwt_svid"}, nil
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
