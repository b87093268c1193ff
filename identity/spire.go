package identity

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	bundlev1 "github.com/spiffe/spire-api-sdk/proto/spire/api/server/bundle/v1"
	svidv1 "github.com/spiffe/spire-api-sdk/proto/spire/api/server/svid/v1"
	"github.com/spiffe/spire-api-sdk/proto/spire/api/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/sovereign-stack/sovereign/apperr"
)

// CodeSpireUnavailable is the error code when the SPIRE Server API cannot be reached.
const CodeSpireUnavailable = "SPIRE_UNAVAILABLE"

// Defaults of the SPIRE-backed Issuer.
const (
	// DefaultSpireBundleMaxAge is how long Spire reuses a bundle it fetched before asking the
	// server again. SPIRE publishes a new authority in the bundle well before it signs with it,
	// so a few seconds of staleness never refuses a fresh SVID.
	DefaultSpireBundleMaxAge = 5 * time.Second

	// DefaultSpireCallTimeout bounds one call to the SPIRE Server API when the caller's
	// context has no earlier deadline.
	DefaultSpireCallTimeout = 10 * time.Second
)

// SpireConfig configures NewSpire.
type SpireConfig struct {
	// ServerSocket is the path of the SPIRE Server API's unix socket (socket_path in the
	// server's configuration). Callers on that socket are SPIRE admins, so it must be
	// reachable by this process only. Required.
	ServerSocket string

	// TrustDomain is the SPIRE server's trust domain. NewSpire refuses a server whose bundle
	// names another one. Required.
	TrustDomain spiffeid.TrustDomain

	// X509SVIDTTL and JWTSVIDTTL are the lifetimes asked for when a mint passes a TTL of 0
	// (defaults DefaultX509SVIDTTL and DefaultJWTSVIDTTL). SPIRE caps them at the remaining
	// lifetime of its CA or JWT key.
	X509SVIDTTL time.Duration
	JWTSVIDTTL  time.Duration

	// BundleMaxAge is how long a fetched bundle is reused (default DefaultSpireBundleMaxAge).
	BundleMaxAge time.Duration

	// CallTimeout bounds each call to the server (default DefaultSpireCallTimeout).
	CallTimeout time.Duration
}

// Spire is an Issuer backed by a real SPIRE server: it mints agent X.509-SVIDs and JWT-SVIDs
// through the SPIRE Server API (svid/v1 MintX509SVID and MintJWTSVID) over the server's
// admin socket, and serves the trust domain's bundle from the bundle API (bundle/v1
// GetBundle). SPIRE holds the keys and rotates its CA and JWT keys itself; Spire holds none.
//
// It differs from Builtin in what SPIRE dictates: the CSR must name the SPIFFE ID as its only
// URI SAN (SPIRE takes the ID from the CSR, so a CSR without one is refused with
// INVALID_CSR), and a CSR asking for DNS SANs is refused, because SPIRE would copy them into
// the SVID. Services do not use Spire for their own SVIDs: they take them from the Workload
// API (see OpenX509Source).
//
// Spire is safe for concurrent use. Close releases the connection.
type Spire struct {
	td      spiffeid.TrustDomain
	cfg     SpireConfig
	conn    *grpc.ClientConn
	svid    svidv1.SVIDClient
	bundles bundlev1.BundleClient

	mu        sync.Mutex
	bundle    *spiffebundle.Bundle // the last bundle fetched; nil after a mint
	fetchedAt time.Time
}

var _ Issuer = (*Spire)(nil)

// NewSpire connects to the SPIRE Server API at cfg.ServerSocket and checks that it answers
// for cfg.TrustDomain by fetching the bundle.
func NewSpire(ctx context.Context, cfg SpireConfig) (*Spire, error) {
	if cfg.TrustDomain.IsZero() {
		return nil, apperr.New(apperr.Invalid, CodeInvalidSPIFFEID, "trust domain is empty")
	}
	if cfg.ServerSocket == "" {
		return nil, errors.New("identity: SPIRE server socket path is empty")
	}
	if cfg.X509SVIDTTL == 0 {
		cfg.X509SVIDTTL = DefaultX509SVIDTTL
	}
	if cfg.JWTSVIDTTL == 0 {
		cfg.JWTSVIDTTL = DefaultJWTSVIDTTL
	}
	if cfg.BundleMaxAge == 0 {
		cfg.BundleMaxAge = DefaultSpireBundleMaxAge
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultSpireCallTimeout
	}
	switch {
	case cfg.X509SVIDTTL < time.Second || cfg.X509SVIDTTL > MaxX509SVIDTTL || cfg.JWTSVIDTTL < time.Second || cfg.JWTSVIDTTL > MaxJWTSVIDTTL:
		return nil, fmt.Errorf("identity: default SVID TTLs must be in [1s, %s] and [1s, %s]", MaxX509SVIDTTL, MaxJWTSVIDTTL)
	case cfg.BundleMaxAge < 0 || cfg.CallTimeout < 0:
		return nil, errors.New("identity: bundle max age and call timeout must not be negative")
	}
	socket, err := filepath.Abs(cfg.ServerSocket)
	if err != nil {
		return nil, fmt.Errorf("identity: SPIRE server socket: %w", err)
	}
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("identity: SPIRE server API: %w", err)
	}
	s := &Spire{
		td:      cfg.TrustDomain,
		cfg:     cfg,
		conn:    conn,
		svid:    svidv1.NewSVIDClient(conn),
		bundles: bundlev1.NewBundleClient(conn),
	}
	if _, err := s.Bundle(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection to the SPIRE server.
func (s *Spire) Close() error { return s.conn.Close() }

// TrustDomain implements Issuer.
func (s *Spire) TrustDomain() spiffeid.TrustDomain { return s.td }

// MintX509SVID implements Issuer. The CSR must name id as its only URI SAN and no DNS SANs.
func (s *Spire) MintX509SVID(ctx context.Context, csrDER []byte, id spiffeid.ID, ttl time.Duration) ([]*x509.Certificate, error) {
	csr, ttl, err := checkX509Request(ctx, s.td, csrDER, id, ttl, s.cfg.X509SVIDTTL)
	if err != nil {
		return nil, err
	}
	if len(csr.URIs) == 0 {
		return nil, apperr.Errorf(apperr.BadRequest, CodeInvalidCSR,
			"the CSR must name the SPIFFE ID %s as its URI SAN", id)
	}
	if len(csr.DNSNames) > 0 || len(csr.IPAddresses) > 0 || len(csr.EmailAddresses) > 0 {
		return nil, apperr.New(apperr.BadRequest, CodeInvalidCSR, "the CSR must name no SAN but the SPIFFE ID")
	}

	ctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.svid.MintX509SVID(ctx, &svidv1.MintX509SVIDRequest{Csr: csrDER, Ttl: seconds(ttl)})
	if err != nil {
		return nil, spireError("mint X.509-SVID", CodeInvalidCSR, err)
	}
	s.forgetBundle()
	raw := resp.GetSvid().GetCertChain()
	if len(raw) == 0 {
		return nil, apperr.Internalf("identity: SPIRE returned an empty X.509-SVID chain")
	}
	chain := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return nil, apperr.Internalf("identity: SPIRE returned an unparsable certificate: %w", err)
		}
	}
	if len(chain[0].URIs) != 1 || chain[0].URIs[0].String() != id.String() {
		return nil, apperr.Internalf("identity: SPIRE returned an X.509-SVID that does not name %s", id)
	}
	return chain, nil
}

// MintJWTSVID implements Issuer.
func (s *Spire) MintJWTSVID(ctx context.Context, id spiffeid.ID, audience []string, ttl time.Duration) (string, error) {
	ttl, err := checkJWTRequest(ctx, s.td, id, audience, ttl, s.cfg.JWTSVIDTTL)
	if err != nil {
		return "", err
	}

	ctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.svid.MintJWTSVID(ctx, &svidv1.MintJWTSVIDRequest{
		Id:       &types.SPIFFEID{TrustDomain: id.TrustDomain().Name(), Path: id.Path()},
		Audience: append([]string(nil), audience...),
		Ttl:      seconds(ttl),
	})
	if err != nil {
		return "", spireError("mint JWT-SVID", CodeInvalidSPIFFEID, err)
	}
	s.forgetBundle()
	token := resp.GetSvid().GetToken()
	if token == "" {
		return "", apperr.Internalf("identity: SPIRE returned an empty JWT-SVID")
	}
	return token, nil
}

// Bundle implements Issuer. A bundle fetched within BundleMaxAge is reused, except after a
// mint, so what was just minted always verifies against the next Bundle.
func (s *Spire) Bundle(ctx context.Context) (*spiffebundle.Bundle, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.bundle != nil && time.Since(s.fetchedAt) < s.cfg.BundleMaxAge {
		b := s.bundle.Clone()
		s.mu.Unlock()
		return b, nil
	}
	s.mu.Unlock()

	ctx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := s.bundles.GetBundle(ctx, &bundlev1.GetBundleRequest{})
	if err != nil {
		return nil, spireError("get bundle", "", err)
	}
	b, err := bundleFromProto(s.td, resp)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.bundle, s.fetchedAt = b, time.Now()
	s.mu.Unlock()
	return b.Clone(), nil
}

func (s *Spire) forgetBundle() {
	s.mu.Lock()
	s.bundle = nil
	s.mu.Unlock()
}

func (s *Spire) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

// bundleFromProto converts the bundle API's bundle into go-spiffe's, refusing one of another
// trust domain.
func bundleFromProto(td spiffeid.TrustDomain, pb *types.Bundle) (*spiffebundle.Bundle, error) {
	if pb.GetTrustDomain() != td.Name() {
		return nil, apperr.Internalf("identity: the SPIRE server's trust domain is %q, not %q", pb.GetTrustDomain(), td.Name())
	}
	b := spiffebundle.New(td)
	for _, a := range pb.GetX509Authorities() {
		cert, err := x509.ParseCertificate(a.GetAsn1())
		if err != nil {
			return nil, apperr.Internalf("identity: SPIRE bundle: X.509 authority: %w", err)
		}
		b.AddX509Authority(cert)
	}
	for _, k := range pb.GetJwtAuthorities() {
		pub, err := x509.ParsePKIXPublicKey(k.GetPublicKey())
		if err != nil {
			return nil, apperr.Internalf("identity: SPIRE bundle: JWT authority %q: %w", k.GetKeyId(), err)
		}
		if err := b.AddJWTAuthority(k.GetKeyId(), pub); err != nil {
			return nil, apperr.Internalf("identity: SPIRE bundle: %w", err)
		}
	}
	if h := pb.GetRefreshHint(); h > 0 {
		b.SetRefreshHint(time.Duration(h) * time.Second)
	}
	b.SetSequenceNumber(pb.GetSequenceNumber())
	return b, nil
}

// seconds rounds a TTL up to whole seconds, the unit of the SPIRE Server API.
func seconds(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}

// spireError turns a SPIRE Server API error into an *apperr.Error: the server being down is
// Unavailable, a refused argument is BadRequest with invalidCode (when not empty), anything else Internal (a misconfiguration,
// such as a socket that does not grant admin rights).
func spireError(op, invalidCode string, err error) error {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.Unavailable, codes.DeadlineExceeded:
		return &apperr.Error{Kind: apperr.Unavailable, Code: CodeSpireUnavailable,
			Message: "the SPIRE server is unavailable", Err: fmt.Errorf("identity: SPIRE %s: %w", op, err)}
	case codes.InvalidArgument:
		if invalidCode == "" {
			break
		}
		return &apperr.Error{Kind: apperr.BadRequest, Code: invalidCode,
			Message: "SPIRE refused the request: " + st.Message(), Err: err}
	}
	return apperr.Internalf("identity: SPIRE %s: %w", op, err)
}
