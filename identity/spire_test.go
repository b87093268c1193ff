package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	bundlev1 "github.com/spiffe/spire-api-sdk/proto/spire/api/server/bundle/v1"
	svidv1 "github.com/spiffe/spire-api-sdk/proto/spire/api/server/svid/v1"
	"github.com/spiffe/spire-api-sdk/proto/spire/api/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sovereign-stack/sovereign/apperr"
)

// fakeSpireServer answers the Server API calls Spire makes, with a Builtin CA standing in for
// SPIRE's, so Spire's conversions and checks are tested without SPIRE's binaries (the
// integration test, spire_integration_test.go, runs the real thing).
type fakeSpireServer struct {
	svidv1.UnimplementedSVIDServer
	bundlev1.UnimplementedBundleServer
	ca *Builtin
	td string // the trust domain the bundle names

	mu         sync.Mutex
	bundleHits int
	x509Hits   int
	lastTTL    int32
	refuseWith codes.Code // when set, mints fail with this code
}

func (f *fakeSpireServer) MintX509SVID(ctx context.Context, req *svidv1.MintX509SVIDRequest) (*svidv1.MintX509SVIDResponse, error) {
	f.mu.Lock()
	f.x509Hits++
	f.lastTTL = req.Ttl
	refuse := f.refuseWith
	f.mu.Unlock()
	if refuse != codes.OK {
		return nil, status.Error(refuse, "refused")
	}
	csr, err := x509.ParseCertificateRequest(req.Csr)
	if err != nil || len(csr.URIs) != 1 {
		return nil, status.Error(codes.InvalidArgument, "malformed CSR")
	}
	id, err := spiffeid.FromURI(csr.URIs[0])
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "CSR URI SAN is invalid")
	}
	chain, err := f.ca.MintX509SVID(ctx, req.Csr, id, time.Duration(req.Ttl)*time.Second)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp := &types.X509SVID{Id: &types.SPIFFEID{TrustDomain: id.TrustDomain().Name(), Path: id.Path()}}
	for _, c := range chain {
		resp.CertChain = append(resp.CertChain, c.Raw)
	}
	return &svidv1.MintX509SVIDResponse{Svid: resp}, nil
}

func (f *fakeSpireServer) MintJWTSVID(ctx context.Context, req *svidv1.MintJWTSVIDRequest) (*svidv1.MintJWTSVIDResponse, error) {
	f.mu.Lock()
	f.lastTTL = req.Ttl
	refuse := f.refuseWith
	f.mu.Unlock()
	if refuse != codes.OK {
		return nil, status.Error(refuse, "refused")
	}
	reqTD, err := spiffeid.TrustDomainFromString(req.GetId().GetTrustDomain())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "invalid SPIFFE ID")
	}
	id, err := spiffeid.FromPath(reqTD, req.GetId().GetPath())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "invalid SPIFFE ID")
	}
	token, err := f.ca.MintJWTSVID(ctx, id, req.Audience, time.Duration(req.Ttl)*time.Second)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &svidv1.MintJWTSVIDResponse{Svid: &types.JWTSVID{Token: token}}, nil
}

func (f *fakeSpireServer) GetBundle(ctx context.Context, _ *bundlev1.GetBundleRequest) (*types.Bundle, error) {
	f.mu.Lock()
	f.bundleHits++
	f.mu.Unlock()
	b, err := f.ca.Bundle(ctx)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	pb := &types.Bundle{TrustDomain: f.td, RefreshHint: 300, SequenceNumber: 7}
	for _, c := range b.X509Authorities() {
		pb.X509Authorities = append(pb.X509Authorities, &types.X509Certificate{Asn1: c.Raw})
	}
	for kid, key := range b.JWTAuthorities() {
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		pb.JwtAuthorities = append(pb.JwtAuthorities, &types.JWTKey{KeyId: kid, PublicKey: der})
	}
	return pb, nil
}

func (f *fakeSpireServer) hits() (bundle, x509 int, ttl int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bundleHits, f.x509Hits, f.lastTTL
}

// startFakeSpire serves a fakeSpireServer on a unix socket and returns it with the socket path
// and a function that stops the server.
func startFakeSpire(t *testing.T, bundleTD string) (*fakeSpireServer, string, func()) {
	t.Helper()
	ca, _ := newCA(t)
	dir, err := os.MkdirTemp("", "fakespire-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "api.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSpireServer{ca: ca, td: bundleTD}
	srv := grpc.NewServer()
	svidv1.RegisterSVIDServer(srv, f)
	bundlev1.RegisterBundleServer(srv, f)
	go srv.Serve(ln)
	var once sync.Once
	stop := func() { once.Do(srv.Stop) }
	t.Cleanup(stop)
	return f, socket, stop
}

func newFakeSpire(t *testing.T, cfg SpireConfig) (*Spire, *fakeSpireServer, func()) {
	t.Helper()
	f, socket, stop := startFakeSpire(t, td.Name())
	cfg.ServerSocket, cfg.TrustDomain = socket, td
	s, err := NewSpire(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, f, stop
}

func TestNewSpire_RefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]SpireConfig{
		"no trust domain":   {ServerSocket: "/tmp/x.sock"},
		"no socket":         {TrustDomain: td},
		"X.509 TTL too big": {ServerSocket: "/tmp/x.sock", TrustDomain: td, X509SVIDTTL: MaxX509SVIDTTL + time.Second},
		"JWT TTL too small": {ServerSocket: "/tmp/x.sock", TrustDomain: td, JWTSVIDTTL: time.Millisecond},
		"negative max age":  {ServerSocket: "/tmp/x.sock", TrustDomain: td, BundleMaxAge: -time.Second},
	} {
		if _, err := NewSpire(ctx, cfg); err == nil {
			t.Errorf("%s: NewSpire accepted %+v", name, cfg)
		}
	}
}

func TestNewSpire_RefusesAnotherTrustDomainAndADeadServer(t *testing.T) {
	_, socket, stop := startFakeSpire(t, "elsewhere.test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := NewSpire(ctx, SpireConfig{ServerSocket: socket, TrustDomain: td}); err == nil {
		t.Error("NewSpire accepted a server whose bundle is for elsewhere.test")
	}
	stop()
	_, err := NewSpire(ctx, SpireConfig{ServerSocket: socket, TrustDomain: td, CallTimeout: time.Second})
	if apperr.CodeOf(err) != CodeSpireUnavailable {
		t.Errorf("NewSpire on a stopped server: %v, want %s", err, CodeSpireUnavailable)
	}
}

func TestSpire_MintsWhatTheBundleVerifies(t *testing.T) {
	ctx := context.Background()
	s, f, _ := newFakeSpire(t, SpireConfig{})
	id := agent(t, "a1")

	chain, err := s.MintX509SVID(ctx, csrFor(t, id.String()), id, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ttl := f.hits(); ttl != 2 {
		t.Errorf("asked SPIRE for a TTL of %ds, want 1.5s rounded up to 2s", ttl)
	}
	bundle, err := s.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := x509svid.Verify(chain, bundle); err != nil || got != id {
		t.Fatalf("x509svid.Verify = %s, %v", got, err)
	}
	if hint, _ := bundle.RefreshHint(); hint != 5*time.Minute {
		t.Errorf("refresh hint %s, want 5m", hint)
	}
	if seq, _ := bundle.SequenceNumber(); seq != 7 {
		t.Errorf("sequence number %d, want 7", seq)
	}

	if _, err := s.MintX509SVID(ctx, csrFor(t, id.String()), id, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, ttl := f.hits(); ttl != int32(DefaultX509SVIDTTL/time.Second) {
		t.Errorf("TTL 0 asked SPIRE for %ds, want the default %s", ttl, DefaultX509SVIDTTL)
	}

	aud := []string{"spiffe://sovereign.test/teg"}
	token, err := s.MintJWTSVID(ctx, id, aud, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ttl := f.hits(); ttl != int32(DefaultJWTSVIDTTL/time.Second) {
		t.Errorf("JWT TTL 0 asked SPIRE for %ds, want the default %s", ttl, DefaultJWTSVIDTTL)
	}
	bundle, err = s.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if svid, err := jwtsvid.ParseAndValidate(token, bundle, aud); err != nil || svid.ID != id {
		t.Fatalf("jwtsvid.ParseAndValidate = %v, %v", svid, err)
	}
	if got, _, err := VerifyJWTSVID(ctx, s, token, spiffeid.RequireFromString(aud[0])); err != nil || got != id {
		t.Errorf("VerifyJWTSVID = %s, %v", got, err)
	}
}

func TestSpire_RefusesBadRequestsBeforeAskingSPIRE(t *testing.T) {
	ctx := context.Background()
	s, f, _ := newFakeSpire(t, SpireConfig{})
	id := agent(t, "a1")
	other := spiffeid.RequireFromString("spiffe://elsewhere.test/agent/a1")

	dnsCSR := func() []byte {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.CertificateRequest{URIs: []*url.URL{id.URL()}, DNSNames: []string{"a1.example"}}
		der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}()
	for _, c := range []struct {
		name string
		csr  []byte
		id   spiffeid.ID
		ttl  time.Duration
		code string
	}{
		{"garbage", []byte("garbage"), id, 0, CodeInvalidCSR},
		{"empty", nil, id, 0, CodeInvalidCSR},
		{"too large", make([]byte, MaxCSRSize+1), id, 0, CodeCSRTooLarge},
		{"another ID", csrFor(t, agent(t, "mallory").String()), id, 0, CodeCSRIDMismatch},
		{"no URI SAN", csrFor(t), id, 0, CodeInvalidCSR},
		{"a DNS SAN", dnsCSR, id, 0, CodeInvalidCSR},
		{"another trust domain", csrFor(t, other.String()), other, 0, CodeWrongTrustDomain},
		{"negative TTL", csrFor(t, id.String()), id, -time.Second, CodeInvalidTTL},
		{"TTL too long", csrFor(t, id.String()), id, MaxX509SVIDTTL + time.Second, CodeInvalidTTL},
	} {
		if _, err := s.MintX509SVID(ctx, c.csr, c.id, c.ttl); apperr.CodeOf(err) != c.code {
			t.Errorf("%s: error %v, want code %s", c.name, err, c.code)
		}
	}
	if _, x509Hits, _ := f.hits(); x509Hits != 0 {
		t.Errorf("SPIRE was asked %d times for refused requests", x509Hits)
	}
	for name, aud := range map[string][]string{"no audience": nil, "an empty audience": {""}} {
		if _, err := s.MintJWTSVID(ctx, id, aud, 0); apperr.CodeOf(err) != CodeInvalidAudience {
			t.Errorf("MintJWTSVID with %s: %v", name, err)
		}
	}
	if _, err := s.MintJWTSVID(ctx, other, []string{"x"}, 0); apperr.CodeOf(err) != CodeWrongTrustDomain {
		t.Errorf("MintJWTSVID for another trust domain: %v", err)
	}
}

func TestSpire_BundleIsCachedButRefetchedAfterAMint(t *testing.T) {
	ctx := context.Background()
	s, f, _ := newFakeSpire(t, SpireConfig{BundleMaxAge: time.Hour})
	start, _, _ := f.hits()
	for range 5 {
		if _, err := s.Bundle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, _, _ := f.hits(); n != start {
		t.Errorf("%d bundle fetches within the max age, want 0", n-start)
	}
	// A mint may be signed by an authority the cached bundle lacks: the next Bundle refetches.
	if _, err := s.MintJWTSVID(ctx, agent(t, "a1"), []string{"x"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bundle(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := f.hits(); n != start+1 {
		t.Errorf("%d bundle fetches after a mint, want 1", n-start)
	}
	// The caller owns what Bundle returns.
	b1, _ := s.Bundle(ctx)
	for _, c := range b1.X509Authorities() {
		b1.RemoveX509Authority(c)
	}
	if b2, _ := s.Bundle(ctx); len(b2.X509Authorities()) == 0 {
		t.Error("changing a returned bundle changed the cached one")
	}
}

func TestSpire_MapsServerErrors(t *testing.T) {
	ctx := context.Background()
	s, f, stop := newFakeSpire(t, SpireConfig{CallTimeout: time.Second})
	id := agent(t, "a1")
	for _, c := range []struct {
		code codes.Code
		kind apperr.Kind
	}{
		{codes.InvalidArgument, apperr.BadRequest},
		{codes.PermissionDenied, apperr.Internal},
		{codes.Internal, apperr.Internal},
	} {
		f.mu.Lock()
		f.refuseWith = c.code
		f.mu.Unlock()
		if _, err := s.MintJWTSVID(ctx, id, []string{"x"}, 0); apperr.KindOf(err) != c.kind {
			t.Errorf("SPIRE says %s: error %v, want kind %v", c.code, err, c.kind)
		}
	}
	stop()
	_, err := s.MintX509SVID(ctx, csrFor(t, id.String()), id, 0)
	if apperr.KindOf(err) != apperr.Unavailable || apperr.CodeOf(err) != CodeSpireUnavailable {
		t.Errorf("SPIRE down: %v, want %s", err, CodeSpireUnavailable)
	}
}

func TestSeconds_RoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int32{time.Second: 1, 1001 * time.Millisecond: 2, time.Hour: 3600, time.Nanosecond: 1} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%s) = %d, want %d", d, got, want)
		}
	}
}
