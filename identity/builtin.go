package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
)

// Defaults of the builtin CA.
const (
	DefaultRootTTL      = 365 * 24 * time.Hour
	DefaultSigningCATTL = 24 * time.Hour
	DefaultJWTKeyTTL    = 24 * time.Hour
	DefaultRefreshHint  = 5 * time.Minute

	// clockSkew is how far back a leaf's NotBefore is set, for peers whose clocks run behind.
	clockSkew = 30 * time.Second
)

// Builtin is the embedded CA: an Issuer that keeps its keys in a directory.
//
// It holds an ECDSA P-256 root (self-signed, DefaultRootTTL, URI SAN spiffe://<td>) — the trust
// anchor published in the bundle — and under it a signing CA (DefaultSigningCATTL, path length
// 0) that signs the X.509-SVIDs, whose chains carry it. JWT-SVIDs are signed with an ECDSA
// P-256 key (ES256) named by a random key id.
//
// Rotation: when the signing CA or the JWT key passes half its lifetime (checked on every
// mint and Bundle), or on Rotate, a new one takes over. A replaced JWT key stays in the bundle
// until it expires, so JWT-SVIDs it signed keep verifying; a replaced signing CA is not in the
// bundle (it is not an anchor) and SVIDs it signed keep verifying through the root while they
// live, because no SVID outlives its CA. The root rotates likewise at half its lifetime; the
// old root stays in the bundle until it expires.
//
// One Builtin owns its directory; two processes must not share it.
type Builtin struct {
	dir string
	td  spiffeid.TrustDomain
	cfg config

	mu        sync.RWMutex
	roots     []*authority // oldest first; the last is current
	signing   *authority   // the current signing CA, issued by the current root
	jwtKeys   []*authority // oldest first; the last is current
	nextCheck time.Time    // when ensure has work to do next (a half-life or an expiry)
	nextGen   int
	bundle    *spiffebundle.Bundle
}

var _ Issuer = (*Builtin)(nil)

type config struct {
	now          func() time.Time
	rootTTL      time.Duration
	signingCATTL time.Duration
	jwtKeyTTL    time.Duration
	x509SVIDTTL  time.Duration
	jwtSVIDTTL   time.Duration
	refreshHint  time.Duration
}

// Option configures a Builtin.
type Option func(*config)

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRootTTL sets the lifetime of a new root CA (default DefaultRootTTL).
func WithRootTTL(d time.Duration) Option { return func(c *config) { c.rootTTL = d } }

// WithSigningCATTL sets the lifetime of a new signing CA (default DefaultSigningCATTL).
func WithSigningCATTL(d time.Duration) Option { return func(c *config) { c.signingCATTL = d } }

// WithJWTKeyTTL sets the lifetime of a new JWT signing key (default DefaultJWTKeyTTL).
func WithJWTKeyTTL(d time.Duration) Option { return func(c *config) { c.jwtKeyTTL = d } }

// WithDefaultTTLs sets the TTLs used when a mint asks for 0 (defaults DefaultX509SVIDTTL and
// DefaultJWTSVIDTTL).
func WithDefaultTTLs(x509SVID, jwtSVID time.Duration) Option {
	return func(c *config) { c.x509SVIDTTL, c.jwtSVIDTTL = x509SVID, jwtSVID }
}

// WithRefreshHint sets the refresh hint published in the bundle (default DefaultRefreshHint).
func WithRefreshHint(d time.Duration) Option { return func(c *config) { c.refreshHint = d } }

// NewBuiltin opens the CA kept in dir (created 0700 if missing) for trust domain td, creating
// the keys it lacks and replacing expired ones. Key files are written 0600; a key file that
// others may read is refused, as is a file that does not parse — a CA is never silently
// replaced.
func NewBuiltin(dir string, td spiffeid.TrustDomain, opts ...Option) (*Builtin, error) {
	if td.IsZero() {
		return nil, apperr.New(apperr.Invalid, CodeInvalidSPIFFEID, "trust domain is empty")
	}
	cfg := config{
		now:          time.Now,
		rootTTL:      DefaultRootTTL,
		signingCATTL: DefaultSigningCATTL,
		jwtKeyTTL:    DefaultJWTKeyTTL,
		x509SVIDTTL:  DefaultX509SVIDTTL,
		jwtSVIDTTL:   DefaultJWTSVIDTTL,
		refreshHint:  DefaultRefreshHint,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.rootTTL <= 0 || cfg.signingCATTL <= 0 || cfg.jwtKeyTTL <= 0:
		return nil, fmt.Errorf("identity: CA and key lifetimes must be positive")
	case cfg.x509SVIDTTL <= 0 || cfg.x509SVIDTTL > MaxX509SVIDTTL || cfg.jwtSVIDTTL <= 0 || cfg.jwtSVIDTTL > MaxJWTSVIDTTL:
		return nil, fmt.Errorf("identity: default SVID TTLs must be in (0, %s] and (0, %s]", MaxX509SVIDTTL, MaxJWTSVIDTTL)
	case cfg.refreshHint < time.Second:
		return nil, fmt.Errorf("identity: refresh hint must be at least 1s")
	}
	b := &Builtin{dir: dir, td: td, cfg: cfg}
	if err := b.load(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.ensure(b.cfg.now(), false); err != nil {
		return nil, err
	}
	return b, nil
}

// TrustDomain implements Issuer.
func (b *Builtin) TrustDomain() spiffeid.TrustDomain { return b.td }

// Rotate replaces the signing CA and the JWT key now (the root too if it is past half its
// lifetime). The old JWT key stays in the bundle until it expires.
func (b *Builtin) Rotate() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ensure(b.cfg.now(), true)
}

// Bundle implements Issuer.
func (b *Builtin) Bundle(ctx context.Context) (*spiffebundle.Bundle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.maintain(b.cfg.now()); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.bundle.Clone(), nil
}

// BundleJSON returns the bundle in the SPIFFE bundle format (a JWK set with spiffe_refresh_hint),
// as /.well-known/spiffe-bundle and GET /api/v1/identity/bundle serve it.
func (b *Builtin) BundleJSON(ctx context.Context) ([]byte, error) {
	bundle, err := b.Bundle(ctx)
	if err != nil {
		return nil, err
	}
	data, err := bundle.Marshal()
	if err != nil {
		return nil, apperr.Internalf("identity: marshal bundle: %w", err)
	}
	return data, nil
}

// MintX509SVID implements Issuer.
func (b *Builtin) MintX509SVID(ctx context.Context, csrDER []byte, id spiffeid.ID, ttl time.Duration) ([]*x509.Certificate, error) {
	csr, ttl, err := checkX509Request(ctx, b.td, csrDER, id, ttl, b.cfg.x509SVIDTTL)
	if err != nil {
		return nil, err
	}
	now := b.cfg.now()
	if err := b.maintain(now); err != nil {
		return nil, err
	}
	b.mu.RLock()
	ca := b.signing
	b.mu.RUnlock()

	notBefore := now.Add(-clockSkew)
	if notBefore.Before(ca.notBefore) {
		notBefore = ca.notBefore
	}
	notAfter := now.Add(ttl)
	if notAfter.After(ca.notAfter) {
		notAfter = ca.notAfter
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		URIs:                  []*url.URL{id.URL()},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, apperr.Internalf("identity: sign X.509-SVID: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, apperr.Internalf("identity: parse X.509-SVID: %w", err)
	}
	return []*x509.Certificate{leaf, ca.cert}, nil
}

// MintJWTSVID implements Issuer.
func (b *Builtin) MintJWTSVID(ctx context.Context, id spiffeid.ID, audience []string, ttl time.Duration) (string, error) {
	ttl, err := checkJWTRequest(ctx, b.td, id, audience, ttl, b.cfg.jwtSVIDTTL)
	if err != nil {
		return "", err
	}
	now := b.cfg.now()
	if err := b.maintain(now); err != nil {
		return "", err
	}
	b.mu.RLock()
	key := b.jwtKeys[len(b.jwtKeys)-1]
	b.mu.RUnlock()

	exp := now.Add(ttl)
	if exp.After(key.notAfter) {
		exp = key.notAfter
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Subject:   id.String(),
		Audience:  jwt.ClaimStrings(append([]string(nil), audience...)),
		ExpiresAt: jwt.NewNumericDate(exp),
		IssuedAt:  jwt.NewNumericDate(now),
	})
	tok.Header["kid"] = key.kid
	s, err := tok.SignedString(key.key)
	if err != nil {
		return "", apperr.Internalf("identity: sign JWT-SVID: %w", err)
	}
	return s, nil
}

// parseCSR parses and checks a CSR for id.
func parseCSR(der []byte, id spiffeid.ID) (*x509.CertificateRequest, error) {
	switch {
	case len(der) == 0:
		return nil, apperr.New(apperr.BadRequest, CodeInvalidCSR, "the CSR is empty")
	case len(der) > MaxCSRSize:
		return nil, apperr.Errorf(apperr.TooLarge, CodeCSRTooLarge, "the CSR is larger than %d bytes", MaxCSRSize)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, &apperr.Error{Kind: apperr.BadRequest, Code: CodeInvalidCSR, Message: "the CSR is not a DER PKCS#10 request", Err: err}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &apperr.Error{Kind: apperr.BadRequest, Code: CodeInvalidCSR, Message: "the CSR's signature does not verify", Err: err}
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, apperr.New(apperr.BadRequest, CodeInvalidCSR, "the CSR's ECDSA key must be on P-256 or P-384")
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, apperr.New(apperr.BadRequest, CodeInvalidCSR, "the CSR's RSA key must have at least 2048 bits")
		}
	case ed25519.PublicKey:
		if err := ed25519strict.CheckPublicKey(k); err != nil {
			return nil, apperr.Errorf(apperr.BadRequest, CodeInvalidCSR, "the CSR's Ed25519 key is refused: %v", err)
		}
	default:
		return nil, apperr.New(apperr.BadRequest, CodeInvalidCSR, "the CSR's key type is not supported (ECDSA, RSA, Ed25519)")
	}
	// Only the URI SAN matters: the leaf carries id and nothing else the CSR asks for.
	if len(csr.URIs) > 1 {
		return nil, apperr.New(apperr.Forbidden, CodeCSRIDMismatch, "the CSR names more than one URI SAN")
	}
	if len(csr.URIs) == 1 {
		got, err := spiffeid.FromURI(csr.URIs[0])
		if err != nil || got != id {
			return nil, apperr.Errorf(apperr.Forbidden, CodeCSRIDMismatch,
				"the CSR names %q, not %s", csr.URIs[0].String(), id)
		}
	}
	return csr, nil
}

// maintain runs ensure when its next check is due.
func (b *Builtin) maintain(now time.Time) error {
	b.mu.RLock()
	due := !now.Before(b.nextCheck)
	b.mu.RUnlock()
	if !due {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.nextCheck) {
		return nil // another goroutine did it
	}
	return b.ensure(now, false)
}

// ensure drops expired authorities and makes the ones that are missing, past half their
// lifetime or (force) due for rotation, then rebuilds the bundle. New keys are written before
// they replace the old ones in memory, so a failed write leaves the state as it was.
// b.mu must be held for writing.
func (b *Builtin) ensure(now time.Time, force bool) error {
	roots := keepValid(b.roots, now)
	jwtKeys := keepValid(b.jwtKeys, now)
	signing := b.signing
	var created []*authority
	undo := func() {
		for _, a := range created {
			removeFile(b.dir, a.file)
		}
	}

	if len(roots) == 0 || !now.Before(roots[len(roots)-1].rotateAt()) {
		root, err := b.newRoot(now)
		if err != nil {
			return err
		}
		created = append(created, root)
		roots = append(roots, root)
	}
	root := roots[len(roots)-1]
	if force || signing == nil || signing.parent != root || !now.Before(signing.rotateAt()) || !now.Before(signing.notAfter) {
		s, err := b.newSigningCA(now, root)
		if err != nil {
			undo()
			return err
		}
		created = append(created, s)
		signing = s
	}
	if force || len(jwtKeys) == 0 || !now.Before(jwtKeys[len(jwtKeys)-1].rotateAt()) {
		k, err := b.newJWTKey(now)
		if err != nil {
			undo()
			return err
		}
		created = append(created, k)
		jwtKeys = append(jwtKeys, k)
	}

	// Commit, then remove the files of what is gone.
	for _, a := range b.roots {
		if !contains(roots, a) {
			removeFile(b.dir, a.file)
		}
	}
	for _, a := range b.jwtKeys {
		if !contains(jwtKeys, a) {
			removeFile(b.dir, a.file)
		}
	}
	if b.signing != nil && b.signing != signing {
		removeFile(b.dir, b.signing.file)
	}
	b.roots, b.signing, b.jwtKeys = roots, signing, jwtKeys

	next := signing.rotateAt()
	consider := func(t time.Time) {
		if t.Before(next) {
			next = t
		}
	}
	consider(signing.notAfter)
	consider(root.rotateAt())
	consider(jwtKeys[len(jwtKeys)-1].rotateAt())
	for _, a := range roots {
		consider(a.notAfter)
	}
	for _, a := range jwtKeys {
		consider(a.notAfter)
	}
	b.nextCheck = next

	bundle := spiffebundle.New(b.td)
	for _, a := range roots {
		bundle.AddX509Authority(a.cert)
	}
	for _, a := range jwtKeys {
		if err := bundle.AddJWTAuthority(a.kid, a.key.Public()); err != nil {
			return apperr.Internalf("identity: bundle: %w", err)
		}
	}
	bundle.SetRefreshHint(b.cfg.refreshHint)
	b.bundle = bundle
	return nil
}

func keepValid(as []*authority, now time.Time) []*authority {
	out := make([]*authority, 0, len(as)+1)
	for _, a := range as {
		if now.Before(a.notAfter) {
			out = append(out, a)
		}
	}
	return out
}

func contains(as []*authority, a *authority) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func (b *Builtin) newRoot(now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, apperr.Internalf("identity: generate root key: %w", err)
	}
	gen := b.takeGen()
	tmpl := b.caTemplate(now.Add(-clockSkew), now.Add(b.cfg.rootTTL), fmt.Sprintf("sovereign root CA %d", gen))
	tmpl.MaxPathLen = 1
	cert, err := createCert(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	a := &authority{kind: kindRoot, gen: gen, cert: cert, key: key, notBefore: cert.NotBefore, notAfter: cert.NotAfter}
	return a, b.write(a)
}

func (b *Builtin) newSigningCA(now time.Time, root *authority) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, apperr.Internalf("identity: generate signing CA key: %w", err)
	}
	gen := b.takeGen()
	notAfter := now.Add(b.cfg.signingCATTL)
	if notAfter.After(root.notAfter) {
		notAfter = root.notAfter
	}
	tmpl := b.caTemplate(now.Add(-clockSkew), notAfter, fmt.Sprintf("sovereign signing CA %d", gen))
	tmpl.MaxPathLenZero = true
	cert, err := createCert(tmpl, root.cert, key.Public(), root.key)
	if err != nil {
		return nil, err
	}
	a := &authority{kind: kindSigning, gen: gen, cert: cert, key: key, notBefore: cert.NotBefore, notAfter: cert.NotAfter, parent: root}
	return a, b.write(a)
}

func (b *Builtin) newJWTKey(now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, apperr.Internalf("identity: generate JWT key: %w", err)
	}
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, apperr.Internalf("identity: key id: %w", err)
	}
	a := &authority{
		kind: kindJWT, gen: b.takeGen(), key: key,
		kid:       base64.RawURLEncoding.EncodeToString(raw[:]),
		notBefore: now.Add(-clockSkew).Truncate(time.Second), notAfter: now.Add(b.cfg.jwtKeyTTL).Truncate(time.Second),
	}
	return a, b.write(a)
}

func (b *Builtin) takeGen() int {
	b.nextGen++
	return b.nextGen
}

func (b *Builtin) caTemplate(notBefore, notAfter time.Time, cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"Sovereign Stack"}, CommonName: cn},
		NotBefore:             notBefore.Truncate(time.Second),
		NotAfter:              notAfter.Truncate(time.Second),
		URIs:                  []*url.URL{spiffeid.RequireFromSegments(b.td).URL()},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

func createCert(tmpl, parent *x509.Certificate, pub any, signer *ecdsa.PrivateKey) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, apperr.Internalf("identity: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, apperr.Internalf("identity: parse CA certificate: %w", err)
	}
	return cert, nil
}

// randomSerial returns a random, positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	var raw [16]byte
	for {
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, apperr.Internalf("identity: serial: %w", err)
		}
		if n := new(big.Int).SetBytes(raw[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}
