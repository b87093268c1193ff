package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Limits of an IssuerSource.
const (
	// DefaultBundleRefresh is how often an IssuerSource re-reads the issuer's bundle when the bundle
	// gives no refresh hint; a hint is honoured between MinBundleRefresh and DefaultBundleRefresh.
	DefaultBundleRefresh = 5 * time.Minute
	MinBundleRefresh     = time.Second

	// retryMin and retryMax bound the wait before minting again after a failed rotation.
	retryMin = 100 * time.Millisecond
	retryMax = 30 * time.Second
)

// IssuerSource holds the X.509-SVID of one service and the trust bundle that verifies its peers,
// both from an Issuer, and keeps them fresh: it mints a new SVID (from a new key) when the
// current one is half-way through its life, and re-reads the bundle at its refresh hint.
//
// It is an SVIDSource (an x509svid.Source and an x509bundle.Source), so MTLSServerConfig,
// MTLSClientConfig and go-spiffe's tlsconfig take it directly; tlsconfig asks it on every handshake, so a rotation reaches new connections at
// once while connections already open carry on. A failed rotation keeps the current SVID and
// retries with backoff until it works (the current SVID stays valid for the other half of its
// life). IssuerSource is the builtin issuer's counterpart of go-spiffe's workloadapi.X509Source.
type IssuerSource struct {
	issuer Issuer
	id     spiffeid.ID
	ttl    time.Duration
	log    *slog.Logger
	now    func() time.Time

	mu        sync.RWMutex
	svid      *x509svid.SVID
	bundle    *x509bundle.Bundle
	rotateAt  time.Time // half-way from the mint to the SVID's NotAfter
	bundleAt  time.Time // when to re-read the bundle
	rotations int
	failures  int
	lastErr   error

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// IssuerSourceOption configures an IssuerSource.
type IssuerSourceOption func(*IssuerSource)

// WithSVIDTTL asks the issuer for SVIDs living ttl (0: the issuer's default). Rotation is at
// half of it.
func WithSVIDTTL(ttl time.Duration) IssuerSourceOption { return func(s *IssuerSource) { s.ttl = ttl } }

// WithSourceLogger sets where rotations and their failures are reported (default slog.Default()).
func WithSourceLogger(l *slog.Logger) IssuerSourceOption {
	return func(s *IssuerSource) {
		if l != nil {
			s.log = l
		}
	}
}

// NewIssuerSource mints the first SVID for id from issuer and reads its bundle, then keeps both
// fresh in the background until Close. It fails when the first mint or bundle read fails.
func NewIssuerSource(ctx context.Context, issuer Issuer, id spiffeid.ID, opts ...IssuerSourceOption) (*IssuerSource, error) {
	s := &IssuerSource{issuer: issuer, id: id, log: slog.Default(), now: time.Now,
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if err := checkMember(issuer.TrustDomain(), id); err != nil {
		return nil, err
	}
	if err := s.rotate(ctx); err != nil {
		return nil, err
	}
	if err := s.refreshBundle(ctx); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// ID is the SPIFFE ID the source holds an SVID for.
func (s *IssuerSource) ID() spiffeid.ID { return s.id }

// GetX509SVID implements x509svid.Source: the current SVID.
func (s *IssuerSource) GetX509SVID() (*x509svid.SVID, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.svid, nil
}

// GetX509BundleForTrustDomain implements x509bundle.Source: the issuer's X.509 authorities,
// for its own trust domain only.
func (s *IssuerSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if td != s.bundle.TrustDomain() {
		return nil, fmt.Errorf("identity: no X.509 bundle for trust domain %q", td)
	}
	return s.bundle, nil
}

// Rotations is how many SVIDs the source minted after the first.
func (s *IssuerSource) Rotations() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rotations
}

// RotationFailures is how many rotations failed (each retry counts; the current SVID stays in
// use until one succeeds).
func (s *IssuerSource) RotationFailures() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.failures
}

// LastError is why the last rotation or bundle read failed, nil when it succeeded.
func (s *IssuerSource) LastError() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastErr
}

// Rotate mints a new SVID now.
func (s *IssuerSource) Rotate(ctx context.Context) error {
	err := s.rotateCounted(ctx)
	s.setErr(err)
	return err
}

// rotateCounted is rotate, counting a failure.
func (s *IssuerSource) rotateCounted(ctx context.Context) error {
	err := s.rotate(ctx)
	if err != nil {
		s.mu.Lock()
		s.failures++
		s.mu.Unlock()
	}
	return err
}

// Close stops the background rotation. The source keeps serving its last SVID and bundle.
func (s *IssuerSource) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

// rotate mints an SVID for a new key and makes it current.
func (s *IssuerSource) rotate(ctx context.Context) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("identity: generate SVID key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{URIs: []*url.URL{s.id.URL()}}, key)
	if err != nil {
		return fmt.Errorf("identity: CSR: %w", err)
	}
	minted := s.now()
	chain, err := s.issuer.MintX509SVID(ctx, csr, s.id, s.ttl)
	if err != nil {
		return fmt.Errorf("identity: mint X.509-SVID for %s: %w", s.id, err)
	}
	svid := &x509svid.SVID{ID: s.id, Certificates: chain, PrivateKey: key}
	life := chain[0].NotAfter.Sub(minted)
	if life <= 0 {
		return fmt.Errorf("identity: the X.509-SVID minted for %s is already expired", s.id)
	}
	s.mu.Lock()
	first := s.svid == nil
	s.svid, s.rotateAt = svid, minted.Add(life/2)
	if !first {
		s.rotations++
	}
	s.mu.Unlock()
	if !first {
		s.log.Info("identity: X.509-SVID rotated", "spiffe_id", s.id.String(), "not_after", chain[0].NotAfter, "serial", chain[0].SerialNumber.String())
	}
	return nil
}

// refreshBundle re-reads the issuer's bundle.
func (s *IssuerSource) refreshBundle(ctx context.Context) error {
	b, err := s.issuer.Bundle(ctx)
	if err != nil {
		return fmt.Errorf("identity: read bundle: %w", err)
	}
	every := DefaultBundleRefresh
	if hint, ok := b.RefreshHint(); ok && hint > 0 {
		every = min(max(hint, MinBundleRefresh), DefaultBundleRefresh)
	}
	xb := x509bundle.FromX509Authorities(b.TrustDomain(), b.X509Authorities())
	s.mu.Lock()
	s.bundle, s.bundleAt = xb, s.now().Add(every)
	s.mu.Unlock()
	return nil
}

func (s *IssuerSource) setErr(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

// run rotates the SVID and refreshes the bundle when they are due, until Close.
func (s *IssuerSource) run() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	backoff := time.Duration(0)
	for {
		s.mu.RLock()
		next := s.rotateAt
		if s.bundleAt.Before(next) {
			next = s.bundleAt
		}
		s.mu.RUnlock()
		wait := next.Sub(s.now())
		if backoff > 0 {
			wait = backoff
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		now := s.now()
		var errs []error
		s.mu.RLock()
		rotateDue, bundleDue := !now.Before(s.rotateAt), !now.Before(s.bundleAt)
		s.mu.RUnlock()
		if rotateDue {
			errs = append(errs, s.rotateCounted(ctx))
		}
		if bundleDue || rotateDue {
			// A new SVID may come from a new CA: read the bundle along with it.
			errs = append(errs, s.refreshBundle(ctx))
		}
		err := errors.Join(errs...)
		s.setErr(err)
		if err == nil {
			backoff = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		backoff = min(max(backoff*2, retryMin), retryMax)
		s.log.Error("identity: SVID rotation failed; keeping the current SVID", "spiffe_id", s.id.String(), "error", err, "retry_in", backoff)
	}
}

var _ SVIDSource = (*IssuerSource)(nil)

// Kinds of SPIFFE IDs in the scheme, as KindOf names them.
const (
	KindRegistry = segRegistry
	KindTEG      = segTEG
	KindAgent    = segAgent
	KindPortal   = segPortal
)

// KindOf is the kind of id in the scheme (KindRegistry, KindTEG, KindAgent,
// KindPortal), or "" when id follows none of its shapes.
func KindOf(id spiffeid.ID) string {
	switch p := id.Path(); {
	case p == "/"+segTEG:
		return KindTEG
	case p == "/"+segPortal:
		return KindPortal
	}
	for _, k := range []string{segRegistry, segAgent} {
		if _, ok := segmentOf(id, k); ok {
			return k
		}
	}
	return ""
}

// AuthorizeKinds is a tlsconfig.Authorizer that accepts peers of trust domain td whose ID is
// of one of kinds (KindRegistry, KindAgent, …) and refuses every other peer at the handshake.
func AuthorizeKinds(td spiffeid.TrustDomain, kinds ...string) tlsconfig.Authorizer {
	return tlsconfig.AdaptMatcher(func(id spiffeid.ID) error {
		if !id.MemberOf(td) {
			return fmt.Errorf("identity: peer %s is not in trust domain %s", id, td)
		}
		k := KindOf(id)
		for _, want := range kinds {
			if k == want {
				return nil
			}
		}
		return fmt.Errorf("identity: peer %s is not a %s", id, strings.Join(kinds, " or "))
	})
}
