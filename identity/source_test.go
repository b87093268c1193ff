package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/identity"
)

var srcTD = spiffeid.RequireTrustDomainFromString("sovereign.test")

func sourceCA(t *testing.T) *identity.Builtin {
	t.Helper()
	ca, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "ca"), srcTD)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newSource(t *testing.T, iss identity.Issuer, id spiffeid.ID, ttl time.Duration) *identity.IssuerSource {
	t.Helper()
	src, err := identity.NewIssuerSource(context.Background(), iss, id, identity.WithSVIDTTL(ttl), identity.WithSourceLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestIssuerSource_ServesAnSVIDThatVerifiesAgainstItsBundle(t *testing.T) {
	ca := sourceCA(t)
	id := spiffeid.RequireFromPath(srcTD, "/teg")
	src := newSource(t, ca, id, 0)
	svid, err := src.GetX509SVID()
	if err != nil {
		t.Fatal(err)
	}
	if svid.ID != id || src.ID() != id {
		t.Fatalf("SVID for %s, want %s", svid.ID, id)
	}
	got, _, err := x509svid.Verify(svid.Certificates, src)
	if err != nil || got != id {
		t.Fatalf("verify: %v, %s", err, got)
	}
	if ttl := svid.Certificates[0].NotAfter.Sub(time.Now()); ttl < 55*time.Minute || ttl > time.Hour {
		t.Errorf("default TTL: %s left, want about the issuer's default of 1h", ttl)
	}
	if _, err := src.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString("other.test")); err == nil {
		t.Error("a bundle for another trust domain")
	}
}

func TestIssuerSource_RefusesAnIDOutsideTheTrustDomain(t *testing.T) {
	ca := sourceCA(t)
	_, err := identity.NewIssuerSource(context.Background(), ca, spiffeid.RequireFromPath(spiffeid.RequireTrustDomainFromString("other.test"), "/teg"))
	if err == nil {
		t.Fatal("want an error")
	}
}

func TestIssuerSource_RotatesAtHalfLife(t *testing.T) {
	ca := sourceCA(t)
	src := newSource(t, ca, spiffeid.RequireFromPath(srcTD, "/registry/main"), 2*time.Second)
	first, _ := src.GetX509SVID()
	deadline := time.Now().Add(5 * time.Second)
	for src.Rotations() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := src.Rotations(); n < 2 {
		t.Fatalf("%d rotations in 5s with a 2s TTL, want at least 2", n)
	}
	cur, _ := src.GetX509SVID()
	if cur.Certificates[0].SerialNumber.Cmp(first.Certificates[0].SerialNumber) == 0 {
		t.Error("the SVID did not change")
	}
	if cur.PrivateKey.Public().(*ecdsa.PublicKey).Equal(first.PrivateKey.Public()) {
		t.Error("a rotation kept the key")
	}
	if _, _, err := x509svid.Verify(cur.Certificates, src); err != nil {
		t.Error(err)
	}
	if err := src.LastError(); err != nil {
		t.Error(err)
	}
}

// flakyIssuer fails every mint while failing is set.
type flakyIssuer struct {
	identity.Issuer
	failing atomic.Bool
}

func (f *flakyIssuer) MintX509SVID(ctx context.Context, csr []byte, id spiffeid.ID, ttl time.Duration) ([]*x509.Certificate, error) {
	if f.failing.Load() {
		return nil, errors.New("issuer down")
	}
	return f.Issuer.MintX509SVID(ctx, csr, id, ttl)
}

func TestIssuerSource_FailedRotationKeepsTheSVIDAndRetries(t *testing.T) {
	iss := &flakyIssuer{Issuer: sourceCA(t)}
	src := newSource(t, iss, spiffeid.RequireFromPath(srcTD, "/teg"), 2*time.Second)
	first, _ := src.GetX509SVID()
	iss.failing.Store(true)
	deadline := time.Now().Add(3 * time.Second)
	for src.LastError() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if src.LastError() == nil {
		t.Fatal("no rotation failure reported")
	}
	if cur, _ := src.GetX509SVID(); cur != first {
		t.Fatal("a failed rotation replaced the SVID")
	}
	if src.RotationFailures() == 0 {
		t.Fatal("the failed rotation is not counted")
	}
	before := src.Rotations() // (a rotation may have happened before the issuer went down)
	iss.failing.Store(false)
	deadline = time.Now().Add(3 * time.Second)
	for (src.Rotations() == before || src.LastError() != nil) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if src.Rotations() == before || src.LastError() != nil {
		t.Fatalf("no recovery: %d rotations (%d before), last error %v", src.Rotations(), before, src.LastError())
	}
}

func TestKindOf(t *testing.T) {
	for id, want := range map[string]string{
		"spiffe://sovereign.test/teg":             identity.KindTEG,
		"spiffe://sovereign.test/portal":          identity.KindPortal,
		"spiffe://sovereign.test/registry/main":   identity.KindRegistry,
		"spiffe://sovereign.test/agent/agt_1":     identity.KindAgent,
		"spiffe://sovereign.test/agent/a/b":       "",
		"spiffe://sovereign.test/registry":        "",
		"spiffe://sovereign.test/teg/extra":       "",
		"spiffe://sovereign.test/something/other": "",
	} {
		if got := identity.KindOf(spiffeid.RequireFromString(id)); got != want {
			t.Errorf("KindOf(%s) = %q, want %q", id, got, want)
		}
	}
}

// handshake runs one mTLS handshake between a server with serverSrc (accepting authorize) and
// a client with clientSrc (expecting the server's ID) and returns the client's error.
func handshake(t *testing.T, serverSrc, clientSrc *identity.IssuerSource, authorize tlsconfig.Authorizer) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", identity.MTLSServerConfig(serverSrc, authorize))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if tc := c.(*tls.Conn); tc.Handshake() == nil {
			_, _ = tc.Write([]byte("x"))
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), identity.MTLSClientConfig(clientSrc, tlsconfig.AuthorizeID(serverSrc.ID())))
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	// In TLS 1.3 the server checks the client's certificate after the client's handshake
	// returns; a refusal shows on the first read.
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		return conn.ConnectionState(), err
	}
	return conn.ConnectionState(), nil
}

func TestMTLSConfig_TLS13AndPeerKinds(t *testing.T) {
	ca := sourceCA(t)
	teg := newSource(t, ca, spiffeid.RequireFromPath(srcTD, "/teg"), 0)
	registry := newSource(t, ca, spiffeid.RequireFromPath(srcTD, "/registry/main"), 0)
	portal := newSource(t, ca, spiffeid.RequireFromPath(srcTD, "/portal"), 0)
	authorize := identity.AuthorizeKinds(srcTD, identity.KindRegistry, identity.KindAgent)

	st, err := handshake(t, teg, registry, authorize)
	if err != nil {
		t.Fatalf("registry → teg: %v", err)
	}
	if st.Version != tls.VersionTLS13 {
		t.Errorf("TLS version %x, want 1.3", st.Version)
	}
	if _, err := handshake(t, teg, portal, authorize); err == nil {
		t.Error("the portal's SVID was accepted by a listener for registries and agents")
	}
	// A CA of the same trust domain name but another key is not trusted.
	stranger := newSource(t, sourceCA(t), spiffeid.RequireFromPath(srcTD, "/registry/main"), 0)
	if _, err := handshake(t, teg, stranger, authorize); err == nil {
		t.Error("an SVID from another CA was accepted")
	}
	// The client refuses a server that is not the one it expects.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", identity.MTLSServerConfig(portal, tlsconfig.AuthorizeAny()))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	if c, err := tls.Dial("tcp", ln.Addr().String(), identity.MTLSClientConfig(registry, tlsconfig.AuthorizeID(teg.ID()))); err == nil {
		c.Close()
		t.Error("the client accepted the portal as the TEG")
	}
}
