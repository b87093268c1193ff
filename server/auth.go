package server

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
)

// authenticator resolves every kind of credential to one policy subject: developer API keys and
// access tokens (EdDSA JWTs) through the registry, agent and service JWT-SVIDs (ES256, audience
// = the TEG's SPIFFE ID) and mTLS client X.509-SVIDs through the identity issuer's bundle. An
// agent's credential is good only while the agent is active: agentActive is asked on every
// request an agent makes, after the credential verified (or was recalled from the cache).
type authenticator struct {
	accounts *registry.Accounts
	issuer   identity.Issuer
	audience spiffeid.ID
	// agentActive refuses a suspended or revoked agent (registry.Onboarding.AgentActive: the
	// status as stored, kept in memory within registry.AgentStatusStaleness of other replicas'
	// changes); nil where no registry runs (the TEG role, whose ledger freezes the wallets of
	// such agents instead).
	agentActive func(ctx context.Context, agentID string) error
	// federated verifies the X.509-SVIDs of other trust domains: those of the ACTIVE
	// federation peers (federation.Bundles; nil without federation). Such a client is a
	// peer_registry subject.
	federated x509bundle.Source

	// verified remembers JWT-SVIDs and X.509-SVIDs that verified, by the hash of the token or
	// of the leaf certificate, until they expire: a caller presents the same credential for
	// its whole (short) life, and ECDSA verification is most of the cost of authenticating it.
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
	// Only JWT-SVIDs are remembered, so a token recalled is one (its header need not be read).
	key := sha256.Sum256([]byte(token))
	if s, ok := a.recall(key); ok {
		return a.admit(ctx, s)
	}
	if !svidAlgs[jwtAlg(token)] {
		return a.accounts.AuthenticateAccessToken(ctx, token)
	}
	id, exp, err := identity.VerifyJWTSVID(ctx, a.issuer, token, a.audience)
	if err != nil {
		return policy.Subject{}, err
	}
	s := svidSubject(id, policy.AuthJWTSVID)
	a.remember(key, s, exp)
	return a.admit(ctx, s)
}

// admit passes on the subject of a credential that verified unless it is an agent that is no
// longer active (403 AGENT_SUSPENDED or AGENT_REVOKED). The cache of verified credentials
// remembers signatures, never statuses, so no cached verification outlives a status change.
func (a *authenticator) admit(ctx context.Context, s policy.Subject) (policy.Subject, error) {
	if s.Kind != policy.KindAgent || a.agentActive == nil {
		return s, nil
	}
	if err := a.agentActive(ctx, s.ID); err != nil {
		return policy.Subject{}, err
	}
	return s, nil
}

// svidSubject is the subject an SVID for id speaks for: an agent (spiffe://<td>/agent/<id>) or
// a service of the stack (any other ID of the trust domain; the policy knows which services
// may do what by their IDs).
func svidSubject(id spiffeid.ID, method string) policy.Subject {
	if agent, ok := identity.AgentIDOf(id); ok {
		return policy.Subject{Kind: policy.KindAgent, ID: agent, SPIFFEID: id.String(), AuthMethod: method}
	}
	return serviceSubject(id, method)
}

// recall is the subject of a credential that verified before (by its hash), while it is unexpired.
func (a *authenticator) recall(key [32]byte) (policy.Subject, bool) {
	a.mu.Lock()
	v, ok := a.verified[key]
	a.mu.Unlock()
	if !ok || !time.Now().Before(v.expiry) {
		return policy.Subject{}, false
	}
	return v.subject, true
}

// remember keeps the subject of a credential that verified (by its hash) until exp.
func (a *authenticator) remember(key [32]byte, s policy.Subject, exp time.Time) {
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerifiedSVIDs {
		a.verified = map[[32]byte]verifiedSVID{}
	}
	a.verified[key] = verifiedSVID{subject: s, expiry: exp}
	a.mu.Unlock()
}

// Verified implements httpapi.VerifiedCredentials: the bearer token is a JWT-SVID that
// verified before and has not expired (what it says about the agent's status is admit's).
func (a *authenticator) Verified(token string) bool {
	_, ok := a.recall(sha256.Sum256([]byte(token)))
	return ok
}

var (
	_ httpapi.PeerAuthenticator   = (*authenticator)(nil)
	_ httpapi.VerifiedCredentials = (*authenticator)(nil)
)

// ErrInvalidX509SVID is the answer to a TLS client certificate that is not a valid X.509-SVID
// of the trust domain (only possible on a listener that does not verify clients itself).
var ErrInvalidX509SVID = apperr.New(apperr.Unauthenticated, "INVALID_X509_SVID", "the client certificate is not a valid X.509-SVID of this trust domain")

// AuthenticatePeer implements httpapi.PeerAuthenticator: it resolves the certificate chain an
// mTLS client presented (leaf first) to the subject its X.509-SVID speaks for, verifying it
// against the issuer's bundle (a chain that verified is remembered until its leaf expires),
// with auth_method "x509_svid"; an agent's only while it is active (admit).
func (a *authenticator) AuthenticatePeer(ctx context.Context, chain []*x509.Certificate) (policy.Subject, error) {
	key := sha256.Sum256(chain[0].Raw)
	if s, ok := a.recall(key); ok {
		return a.admit(ctx, s)
	}
	var bundle x509bundle.Source
	peerID, err := x509svid.IDFromCert(chain[0])
	foreign := err == nil && peerID.TrustDomain() != a.issuer.TrustDomain() && a.federated != nil
	if foreign {
		bundle = a.federated
	} else {
		b, err := a.issuer.Bundle(ctx)
		if err != nil {
			return policy.Subject{}, apperr.Internalf("identity bundle: %w", err)
		}
		bundle = b
	}
	var opts []x509svid.VerifyOption
	if at, ok := httpapi.ConnStart(ctx); ok {
		// As of the handshake: the connection's certificate stays valid for it (see
		// httpapi.WithConnStart), as the TLS listener verified it then.
		opts = append(opts, x509svid.WithTime(at))
	}
	id, chains, err := x509svid.Verify(chain, bundle, opts...)
	if err != nil {
		return policy.Subject{}, ErrInvalidX509SVID.With("reason", err.Error())
	}
	exp := chain[0].NotAfter
	for _, c := range chains[0] {
		if c.NotAfter.Before(exp) {
			exp = c.NotAfter
		}
	}
	s := svidSubject(id, policy.AuthX509SVID)
	if foreign {
		s = policy.Subject{Kind: policy.KindPeerRegistry, ID: id.String(), SPIFFEID: id.String(), AuthMethod: policy.AuthX509SVID}
	}
	a.remember(key, s, exp)
	return a.admit(ctx, s)
}

// svidAlgs are the JWT algorithms of JWT-SVIDs (those go-spiffe's jwtsvid accepts): the builtin
// CA signs ES256, SPIRE ES256 or RS256 as its jwt_key_type says. Developer access tokens are
// EdDSA, so the algorithm alone says which verifier a bearer JWT goes to.
var svidAlgs = map[string]bool{
	"ES256": true, "ES384": true, "ES512": true,
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
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
