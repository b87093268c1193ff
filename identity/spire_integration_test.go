package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/identity/spiretest"
)

// rotatingTTL is the X.509-SVID lifetime of the registry and TEG entries. SPIRE backdates an
// SVID by 10s and its agent renews it past half its life, so a 20s SVID is replaced every 5–7s
// (the test's agent syncs every second).
const rotatingTTL = 20 * time.Second

// TestSpire runs the SPIRE mode of the identity fabric against a real spire-server and
// spire-agent: services take SVIDs from the Workload API and talk mTLS, the Spire issuer mints
// agent SVIDs through the Server API, and SVID rotation drops no request.
func TestSpire(t *testing.T) {
	if testing.Short() {
		t.Skip("SPIRE integration test skipped in -short mode")
	}
	sp := spiretest.Start(t, spiretest.Options{})
	td := sp.TrustDomain
	registryID := spireID(identity.RegistryID(td, "main"))
	otherID := spireID(identity.RegistryID(td, "other"))
	tegID := spireID(identity.TEGID(td))

	// All three run in this process, so all three entries select its uid; each workload picks
	// its own SVID by ID out of the three the Workload API issues.
	sp.Register(t, spiretest.Entry{ID: registryID, X509SVIDTTL: rotatingTTL})
	sp.Register(t, spiretest.Entry{ID: tegID, X509SVIDTTL: rotatingTTL})
	sp.Register(t, spiretest.Entry{ID: otherID})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	open := func(id spiffeid.ID) *workloadapi.X509Source {
		t.Helper()
		src, err := identity.OpenX509Source(ctx, identity.WorkloadConfig{Addr: sp.WorkloadAddr, ID: id})
		if err != nil {
			t.Fatalf("X509Source for %s: %v", id, err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	registry, teg, other := open(registryID), open(tegID), open(otherID)

	// The TEG stand-in: an HTTPS server that accepts only the registry and answers with the
	// caller's SPIFFE ID and its own SVID's serial number.
	tegURL, clientSerials := spireServeTEG(t, teg, tegID, registryID)

	t.Run("WorkloadMTLS", func(t *testing.T) {
		c := spireClient(registry, tlsconfig.AuthorizeID(tegID))
		resp, body, err := spireGet(c, tegURL)
		if err != nil {
			t.Fatalf("registry → TEG: %v", err)
		}
		if resp.TLS.Version != tls.VersionTLS13 {
			t.Errorf("TLS version %x, want TLS 1.3", resp.TLS.Version)
		}
		if got, _ := x509svid.IDFromCert(resp.TLS.PeerCertificates[0]); got != tegID {
			t.Errorf("server's ID %s, want %s", got, tegID)
		}
		if body.caller != registryID.String() {
			t.Errorf("the TEG saw caller %q, want %s", body.caller, registryID)
		}

		// Another registry's SVID verifies, but the TEG does not authorize it.
		if _, _, err := spireGet(spireClient(other, tlsconfig.AuthorizeID(tegID)), tegURL); err == nil {
			t.Error("the TEG accepted spiffe://…/registry/other")
		} else {
			t.Logf("registry/other → TEG refused: %v", err)
		}
		// And the registry refuses a server that is not the TEG it expects.
		if _, _, err := spireGet(spireClient(registry, tlsconfig.AuthorizeID(otherID)), tegURL); err == nil {
			t.Error("the registry accepted a server with the TEG's ID while expecting registry/other")
		} else {
			t.Logf("registry expecting registry/other refused the TEG: %v", err)
		}
	})

	t.Run("WorkloadJWTSVID", func(t *testing.T) {
		src, err := identity.OpenJWTSource(ctx, identity.WorkloadConfig{Addr: sp.WorkloadAddr})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		svid, err := identity.FetchJWTSVID(ctx, src, registryID, tegID.String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := jwtsvid.ParseAndValidate(svid.Marshal(), src, []string{tegID.String()})
		if err != nil {
			t.Fatalf("the registry's JWT-SVID does not validate: %v", err)
		}
		if got.ID != registryID {
			t.Errorf("JWT-SVID for %s, want %s", got.ID, registryID)
		}
	})

	t.Run("IssuerMintsAgentSVIDs", func(t *testing.T) {
		iss, err := identity.NewSpire(ctx, identity.SpireConfig{ServerSocket: sp.ServerSocket, TrustDomain: td})
		if err != nil {
			t.Fatal(err)
		}
		defer iss.Close()
		checkSpireIssuer(ctx, t, iss, registry, tegID)

		// An agent with its Spire-minted X.509-SVID talks mTLS to a service that accepts agents.
		agentID := spireID(identity.AgentID(td, "agent-mtls"))
		agentSrc := spireAgentSource(ctx, t, iss, agentID)
		agentURL, _ := spireServeTEG(t, teg, tegID, spiffeid.ID{})
		_, body, err := spireGet(spireClient(agentSrc, tlsconfig.AuthorizeID(tegID)), agentURL)
		if err != nil {
			t.Fatalf("agent → TEG with a Spire-minted SVID: %v", err)
		}
		if body.caller != agentID.String() {
			t.Errorf("the TEG saw caller %q, want %s", body.caller, agentID)
		}

		if _, err := identity.NewSpire(ctx, identity.SpireConfig{
			ServerSocket: sp.ServerSocket, TrustDomain: spiffeid.RequireTrustDomainFromString("elsewhere.test"),
		}); err == nil {
			t.Error("NewSpire accepted a server of another trust domain")
		}
	})

	t.Run("RotationWithoutFailures", func(t *testing.T) {
		const wantRotations = 3
		c := spireClient(registry, tlsconfig.AuthorizeID(tegID))
		c.Transport.(*http.Transport).DisableKeepAlives = true // a handshake per request

		serverSerials := map[string]bool{}
		start := clientSerials.count()
		deadline := time.Now().Add(90 * time.Second)
		var requests, failures int
		for time.Now().Before(deadline) {
			requests++
			_, body, err := spireGet(c, tegURL)
			if err != nil {
				failures++
				t.Errorf("request %d failed: %v", requests, err)
			} else {
				serverSerials[body.serial] = true
			}
			if len(serverSerials) > wantRotations && clientSerials.count()-start > wantRotations {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// More than wantRotations distinct SVIDs of each side means at least wantRotations
		// rotations (the registry's count leaves out the SVIDs seen before this subtest).
		t.Logf("%d requests, %d failures; the TEG presented %d distinct SVIDs, the registry %d new ones",
			requests, failures, len(serverSerials), clientSerials.count()-start)
		if len(serverSerials) <= wantRotations || clientSerials.count()-start <= wantRotations {
			t.Errorf("saw %d TEG and %d new registry SVIDs in 90s, want more than %d of each",
				len(serverSerials), clientSerials.count()-start, wantRotations)
		}
		if failures > 0 {
			t.Errorf("%d of %d requests failed across rotations", failures, requests)
		}
	})
}

// checkSpireIssuer checks what the Spire issuer mints against the bundle it serves and the
// bundle the Workload API hands to workloads.
func checkSpireIssuer(ctx context.Context, t *testing.T, iss *identity.Spire, workload *workloadapi.X509Source, tegID spiffeid.ID) {
	td := iss.TrustDomain()
	agentID := spireID(identity.AgentID(td, "agent-1"))

	bundle, err := iss.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := workload.GetX509BundleForTrustDomain(td)
	if err != nil {
		t.Fatal(err)
	}
	if !spireSameCerts(bundle.X509Authorities(), wb.X509Authorities()) {
		t.Error("the Server API's X.509 authorities differ from the Workload API's")
	}

	key := spireKey(t)
	chain, err := iss.MintX509SVID(ctx, identity.CSRWithKey(t, key, agentID.String()), agentID, 10*time.Minute)
	if err != nil {
		t.Fatalf("MintX509SVID: %v", err)
	}
	gotID, _, err := x509svid.Verify(chain, bundle)
	if err != nil {
		t.Fatalf("the agent X.509-SVID does not verify against the SPIRE bundle: %v", err)
	}
	if gotID != agentID {
		t.Errorf("X.509-SVID for %s, want %s", gotID, agentID)
	}
	if life := chain[0].NotAfter.Sub(time.Now()); life < 9*time.Minute || life > 11*time.Minute {
		t.Errorf("X.509-SVID lives %s more, want about 10m", life)
	}
	if !chain[0].PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Error("the X.509-SVID does not carry the CSR's key")
	}

	token, err := iss.MintJWTSVID(ctx, agentID, []string{tegID.String()}, 0)
	if err != nil {
		t.Fatalf("MintJWTSVID: %v", err)
	}
	bundle, err = iss.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svid, err := jwtsvid.ParseAndValidate(token, bundle, []string{tegID.String()})
	if err != nil {
		t.Fatalf("the agent JWT-SVID does not validate against the SPIRE bundle: %v", err)
	}
	if svid.ID != agentID {
		t.Errorf("JWT-SVID for %s, want %s", svid.ID, agentID)
	}
	if got, _, err := identity.VerifyJWTSVID(ctx, iss, token, tegID); err != nil || got != agentID {
		t.Errorf("VerifyJWTSVID = %s, %v", got, err)
	}
	if _, _, err := identity.VerifyJWTSVID(ctx, iss, token, agentID); err == nil {
		t.Error("VerifyJWTSVID accepted a JWT-SVID for another audience")
	}

	otherTD := spiffeid.RequireFromString("spiffe://elsewhere.test/agent/x")
	for _, c := range []struct {
		name string
		csr  []byte
		id   spiffeid.ID
		code string
	}{
		{"garbage", []byte("not a CSR"), agentID, identity.CodeInvalidCSR},
		{"another ID", identity.CSRWithKey(t, spireKey(t), "spiffe://sovereign.test/agent/mallory"), agentID, identity.CodeCSRIDMismatch},
		{"the TEG's ID", identity.CSRWithKey(t, spireKey(t), tegID.String()), agentID, identity.CodeCSRIDMismatch},
		{"no URI SAN", identity.CSRWithKey(t, spireKey(t)), agentID, identity.CodeInvalidCSR},
		{"another trust domain", identity.CSRWithKey(t, spireKey(t), otherTD.String()), otherTD, identity.CodeWrongTrustDomain},
	} {
		_, err := iss.MintX509SVID(ctx, c.csr, c.id, 0)
		if got := apperr.CodeOf(err); got != c.code {
			t.Errorf("%s: MintX509SVID error %v (code %q), want code %s", c.name, err, got, c.code)
		}
	}
	if _, err := iss.MintJWTSVID(ctx, agentID, nil, 0); apperr.CodeOf(err) != identity.CodeInvalidAudience {
		t.Errorf("MintJWTSVID without audience: %v", err)
	}
}

// spireAgentSource mints an X.509-SVID for id from iss and holds it with iss's bundle.
func spireAgentSource(ctx context.Context, t *testing.T, iss identity.Issuer, id spiffeid.ID) identity.SVIDSource {
	t.Helper()
	key := spireKey(t)
	chain, err := iss.MintX509SVID(ctx, identity.CSRWithKey(t, key, id.String()), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := iss.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return spireStaticSource{SVID: &x509svid.SVID{ID: id, Certificates: chain, PrivateKey: key}, Bundle: bundle}
}

type spireStaticSource struct {
	*x509svid.SVID
	*spiffebundle.Bundle
}

// spireSerials collects the serial numbers of client SVIDs a server saw.
type spireSerials struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *spireSerials) add(serial string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[serial] = true
}

func (s *spireSerials) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// spireServeTEG serves mTLS with src as tegID, accepting only allowed (any member of the trust
// domain when zero). It answers "<caller ID> <server serial>" and records client serials.
func spireServeTEG(t *testing.T, src identity.SVIDSource, tegID, allowed spiffeid.ID) (string, *spireSerials) {
	t.Helper()
	authorize := tlsconfig.AuthorizeID(allowed)
	if allowed.IsZero() {
		authorize = tlsconfig.AuthorizeMemberOf(tegID.TrustDomain())
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", identity.MTLSServerConfig(src, authorize))
	if err != nil {
		t.Fatal(err)
	}
	serials := &spireSerials{m: map[string]bool{}}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer := r.TLS.PeerCertificates[0]
			id, err := x509svid.IDFromCert(peer)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			serials.add(peer.SerialNumber.String())
			svid, err := src.GetX509SVID()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%s %s", id, svid.Certificates[0].SerialNumber)
		}),
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are the point of some calls
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String() + "/", serials
}

type spireTEGBody struct{ caller, serial string }

func spireClient(src identity.SVIDSource, authorize tlsconfig.Authorizer) *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: identity.MTLSClientConfig(src, authorize)},
	}
}

// spireGet calls u and returns the response, the TEG's answer and any error (a non-200 status is one).
func spireGet(c *http.Client, u string) (*http.Response, spireTEGBody, error) {
	resp, err := c.Get(u)
	if err != nil {
		return nil, spireTEGBody{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, spireTEGBody{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, spireTEGBody{}, fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	var b spireTEGBody
	if _, err := fmt.Sscanf(string(data), "%s %s", &b.caller, &b.serial); err != nil {
		return nil, spireTEGBody{}, fmt.Errorf("answer %q: %w", data, err)
	}
	return resp, b, nil
}

func spireKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func spireSameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func spireID(id spiffeid.ID, err error) spiffeid.ID {
	if err != nil {
		panic(err)
	}
	return id
}
