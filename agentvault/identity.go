package agentvault

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/identity"
)

// Identity is who an agent is: its registry id, its did:key DID (derived from its Ed25519
// key), its SPIFFE ID (given by the registry at registration) and its Ed25519 private key. The
// key never leaves the agent: registration sends the public key and a signature.
type Identity struct {
	ID       string
	DID      string
	SPIFFEID string
	Key      ed25519.PrivateKey
}

// NewIdentity returns an identity with a new Ed25519 key and its DID; ID and SPIFFEID are
// empty until the agent is registered.
func NewIdentity() (*Identity, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("agentvault: generating an Ed25519 key: %w", err)
	}
	return IdentityFromKey(priv), nil
}

// IdentityFromKey returns the identity of an existing key (ID and SPIFFEID empty).
func IdentityFromKey(key ed25519.PrivateKey) *Identity {
	return &Identity{DID: identity.DIDKey(key.Public().(ed25519.PublicKey)), Key: key}
}

// PublicKey is the identity's Ed25519 public key.
func (i *Identity) PublicKey() ed25519.PublicKey { return i.Key.Public().(ed25519.PublicKey) }

// PublicJWK is the public key as a JWK (RFC 8037): {"kty":"OKP","crv":"Ed25519","x":…}.
func (i *Identity) PublicJWK() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(i.PublicKey())}
}

// Sign signs msg with the identity's key.
func (i *Identity) Sign(msg []byte) []byte { return ed25519.Sign(i.Key, msg) }

// LoadIdentity reads the identity of agent id from ks: its key (FieldAgentKey, required) and
// SPIFFE ID (FieldSPIFFEID, optional). The DID is derived from the key.
func LoadIdentity(ctx context.Context, ks KeyStore, id string) (*Identity, error) {
	enc, err := ks.Get(ctx, id, FieldAgentKey)
	if err != nil {
		return nil, fmt.Errorf("agentvault: the key of agent %s: %w", id, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(enc), "="))
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("agentvault: the key of agent %s is not a base64url Ed25519 private key", id)
	}
	key := ed25519.PrivateKey(raw)
	// The 64-byte form carries the public key: check it matches the seed.
	if !ed25519.NewKeyFromSeed(key.Seed()).Equal(key) {
		return nil, fmt.Errorf("agentvault: the key of agent %s is inconsistent (public half does not match the seed)", id)
	}
	ident := IdentityFromKey(key)
	ident.ID = id
	sid, err := ks.Get(ctx, id, FieldSPIFFEID)
	switch {
	case err == nil:
		ident.SPIFFEID = sid
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	return ident, nil
}

// Save writes the identity's key and SPIFFE ID (when known) to ks under its ID.
func (i *Identity) Save(ctx context.Context, ks KeyStore) error {
	if i.ID == "" {
		return errors.New("agentvault: the identity has no id (register it first)")
	}
	if err := ks.Set(ctx, i.ID, FieldAgentKey, base64.RawURLEncoding.EncodeToString(i.Key)); err != nil {
		return err
	}
	if i.SPIFFEID != "" {
		return ks.Set(ctx, i.ID, FieldSPIFFEID, i.SPIFFEID)
	}
	return nil
}

// ---- the agent's JWT ----

// AgentTokenPath is the registry's OAuth 2 token endpoint for agents.
const AgentTokenPath = "/api/v1/auth/agent/token"

// tokenRefreshMargin is how long before its expiry a token is replaced: a fifth of its life,
// at most this much.
const tokenRefreshMargin = time.Minute

// TokenSource gets an agent's JWT (a JWT-SVID) from the registry with the OAuth 2
// client-credentials grant (POST /api/v1/auth/agent/token) and caches it, getting a new one
// when a fifth of its life (at most a minute) is left. It is a Credential (Authorization:
// Bearer). Concurrent callers share one request. Safe for concurrent use.
type TokenSource struct {
	api apiClient
	now func() time.Time

	mu       sync.Mutex
	clientID string
	secret   string
	token    string
	refresh  time.Time // when to get a new token
	expires  time.Time
	// audience is whom the tokens are for ("" asks the registry's default: the TEG).
	audience string
	scoped   map[string]*TokenSource
}

// AudienceScoped is a credential that can narrow itself to one audience: the caller's token for
// one agent, which that agent cannot replay to the TEG or to other agents.
type AudienceScoped interface {
	ForAudience(audience string) Credential
}

// ForAudience returns a token source of the same client credentials whose tokens are for
// audience only (an agent id, or a SPIFFE ID of the registry's trust domain). Sources are
// kept per audience, so each caches its own token.
func (t *TokenSource) ForAudience(audience string) Credential {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.scoped == nil {
		t.scoped = map[string]*TokenSource{}
	}
	s, ok := t.scoped[audience]
	if !ok {
		s = &TokenSource{api: t.api, now: t.now, clientID: t.clientID, secret: t.secret, audience: audience}
		t.scoped[audience] = s
	}
	return s
}

// NewTokenSource returns a token source for the client credentials of an agent.
func NewTokenSource(registryURL, clientID, clientSecret string, opts ...Option) *TokenSource {
	s := newSettings(opts)
	return &TokenSource{api: newAPIClient(registryURL, nil, s.hc), now: s.now, clientID: clientID, secret: clientSecret}
}

// TokenSourceFromKeyStore returns a token source for the client credentials ks keeps for
// agent id (FieldClientID and FieldClientSecret).
func TokenSourceFromKeyStore(ctx context.Context, registryURL string, ks KeyStore, id string, opts ...Option) (*TokenSource, error) {
	cid, err := ks.Get(ctx, id, FieldClientID)
	if err != nil {
		return nil, fmt.Errorf("agentvault: the client id of %s: %w", id, err)
	}
	sec, err := ks.Get(ctx, id, FieldClientSecret)
	if err != nil {
		return nil, fmt.Errorf("agentvault: the client secret of %s: %w", id, err)
	}
	return NewTokenSource(registryURL, cid, sec, opts...), nil
}

// Token returns a valid token, from the cache or a new one.
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.token != "" && now.Before(t.refresh) {
		return t.token, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	form := map[string]string{"grant_type": "client_credentials", "client_id": t.clientID, "client_secret": t.secret}
	if t.audience != "" {
		form["audience"] = t.audience
	}
	if _, err := t.api.do(ctx, http.MethodPost, AgentTokenPath, nil, nil, false, form, &out); err != nil {
		// A token still valid is better than none (the registry may be briefly away).
		if t.token != "" && now.Before(t.expires) {
			return t.token, nil
		}
		return "", err
	}
	if out.AccessToken == "" || !strings.EqualFold(out.TokenType, "bearer") || out.ExpiresIn <= 0 {
		return "", fmt.Errorf("agentvault: the token endpoint answered without a bearer token and its lifetime")
	}
	life := time.Duration(out.ExpiresIn) * time.Second
	t.token, t.expires = out.AccessToken, now.Add(life)
	t.refresh = t.expires.Add(-min(life/5, tokenRefreshMargin))
	return t.token, nil
}

// Apply implements Credential.
func (t *TokenSource) Apply(ctx context.Context, h http.Header) error {
	tok, err := t.Token(ctx)
	if err != nil {
		return err
	}
	h.Set("Authorization", "Bearer "+tok)
	return nil
}

// Invalidate drops the cached token: the next Token gets a new one (after a 401, say).
func (t *TokenSource) Invalidate() {
	t.mu.Lock()
	t.token = ""
	t.mu.Unlock()
}

// SetSecret replaces the client secret (after Registry.RotateSecret) and drops the cached
// token.
func (t *TokenSource) SetSecret(secret string) {
	t.mu.Lock()
	t.secret, t.token = secret, ""
	scoped := t.scoped
	t.mu.Unlock()
	for _, s := range scoped {
		s.SetSecret(secret)
	}
}

// ClientID is the OAuth client id the source authenticates with.
func (t *TokenSource) ClientID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clientID
}

// ---- the agent's X.509-SVID ----

// SVIDPath is the registry's X.509-SVID renewal route.
const SVIDPath = "/api/v1/identity/svid"

// BundlePath is the registry's trust bundle route (the SPIFFE bundle format).
const BundlePath = "/api/v1/identity/bundle"

// Backoff of a failed renewal.
const (
	renewRetryMin = 100 * time.Millisecond
	renewRetryMax = 30 * time.Second
)

// SVIDRenewer keeps an agent's X.509-SVID fresh: Renew mints one (a new P-256 key, a CSR
// naming the agent's SPIFFE ID, POST /api/v1/identity/svid authenticated by the agent's
// credential), and Run renews it each time half of its life has passed, measured from the
// moment it was requested (the issuer back-dates NotBefore for clock skew). A failed renewal
// keeps the current SVID, which has half its life left, and is retried with backoff. It is an
// x509svid.Source, so go-spiffe's tlsconfig can serve and dial with it. Safe for concurrent
// use.
type SVIDRenewer struct {
	api apiClient
	id  spiffeid.ID
	now func() time.Time
	log *slog.Logger

	mu       sync.RWMutex
	svid     *x509svid.SVID
	renewAt  time.Time
	renewals int
	onRenew  func(*x509svid.SVID)
}

// NewSVIDRenewer returns a renewer for the agent with SPIFFE ID id, which authenticates to
// the registry with cred (its *TokenSource). initial, when not nil, is a current SVID (the one
// registration returned): it is renewed at the half of its NotBefore–NotAfter span.
func NewSVIDRenewer(registryURL string, id spiffeid.ID, cred Credential, initial *x509svid.SVID, opts ...Option) *SVIDRenewer {
	s := newSettings(opts)
	r := &SVIDRenewer{api: newAPIClient(registryURL, cred, s.hc), id: id, now: s.now, log: s.log}
	if initial != nil && len(initial.Certificates) > 0 {
		leaf := initial.Certificates[0]
		r.svid, r.renewAt = initial, leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore)/2)
	}
	return r
}

// OnRenew sets a function called with each new SVID (to persist it, or to reload a server).
func (r *SVIDRenewer) OnRenew(fn func(*x509svid.SVID)) {
	r.mu.Lock()
	r.onRenew = fn
	r.mu.Unlock()
}

// GetX509SVID implements x509svid.Source: the current SVID, or an error before the first.
func (r *SVIDRenewer) GetX509SVID() (*x509svid.SVID, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.svid == nil {
		return nil, errors.New("agentvault: no X.509-SVID yet")
	}
	return r.svid, nil
}

// RenewAt is when the current SVID is due for renewal (zero before the first).
func (r *SVIDRenewer) RenewAt() time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.renewAt
}

// Renewals counts the SVIDs minted by this renewer.
func (r *SVIDRenewer) Renewals() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.renewals
}

// Renew mints a new SVID now and makes it current.
func (r *SVIDRenewer) Renew(ctx context.Context) (*x509svid.SVID, error) {
	key, csr, err := newSVIDRequest(r.id)
	if err != nil {
		return nil, err
	}
	requested := r.now()
	var out struct {
		SPIFFEID     string    `json:"spiffe_id"`
		CertChainPEM string    `json:"cert_chain_pem"`
		ExpiresAt    time.Time `json:"expires_at"`
	}
	if _, err := r.api.do(ctx, http.MethodPost, SVIDPath, nil, nil, true, map[string]string{"csr": csr}, &out); err != nil {
		return nil, err
	}
	svid, err := parseSVID(out.CertChainPEM, key)
	if err != nil {
		return nil, err
	}
	if !r.id.IsZero() && svid.ID != r.id {
		return nil, fmt.Errorf("agentvault: the registry minted an SVID for %s, not %s", svid.ID, r.id)
	}
	leaf := svid.Certificates[0]
	life := leaf.NotAfter.Sub(requested)
	if life <= 0 {
		return nil, errors.New("agentvault: the minted X.509-SVID is already expired")
	}
	r.mu.Lock()
	r.svid, r.renewAt = svid, requested.Add(life/2)
	r.renewals++
	fn := r.onRenew
	r.mu.Unlock()
	if fn != nil {
		fn(svid)
	}
	return svid, nil
}

// Run renews the SVID whenever it is due — at once when there is none — until ctx ends, and
// returns ctx's error.
func (r *SVIDRenewer) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		var wait time.Duration // no SVID yet: at once
		r.mu.RLock()
		if r.svid != nil {
			wait = r.renewAt.Sub(r.now())
		}
		r.mu.RUnlock()
		if backoff > 0 {
			wait = backoff
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if _, err := r.Renew(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			backoff = min(max(backoff*2, renewRetryMin), renewRetryMax)
			r.log.Error("agentvault: X.509-SVID renewal failed; keeping the current SVID", "spiffe_id", r.id.String(), "error", err, "retry_in", backoff)
			continue
		}
		backoff = 0
	}
}

// newSVIDRequest makes a P-256 key and a CSR (PEM) naming id (no URI SAN when id is zero).
func newSVIDRequest(id spiffeid.ID) (*ecdsa.PrivateKey, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("agentvault: generating an SVID key: %w", err)
	}
	tmpl := &x509.CertificateRequest{}
	if !id.IsZero() {
		tmpl.URIs = []*url.URL{id.URL()}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, "", fmt.Errorf("agentvault: CSR: %w", err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// parseSVID reads a PEM chain (leaf first) into an SVID with key.
func parseSVID(chainPEM string, key *ecdsa.PrivateKey) (*x509svid.SVID, error) {
	var certs []*x509.Certificate
	rest := []byte(chainPEM)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("agentvault: SVID certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("agentvault: the SVID answer holds no certificate")
	}
	leafKey, ok := certs[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || !leafKey.Equal(key.Public()) {
		return nil, errors.New("agentvault: the SVID certificate is not for the key of the CSR")
	}
	id, err := x509svid.IDFromCert(certs[0])
	if err != nil {
		return nil, fmt.Errorf("agentvault: SVID: %w", err)
	}
	return &x509svid.SVID{ID: id, Certificates: certs, PrivateKey: key}, nil
}
