package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/identity"
)

// csrFor makes a P-256 CSR naming uri (none when ""), DER, and its key.
func csrFor(t *testing.T, uri string) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{}
	if uri != "" {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func csrPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func (s *stack) trustDomain() spiffeid.TrustDomain { return s.server.Issuer().TrustDomain() }

func (s *stack) issuerBundle() *spiffebundle.Bundle {
	s.t.Helper()
	b, err := s.server.Issuer().Bundle(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// kidOf is the key id in a JWT's header.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil || h.Kid == "" {
		t.Fatalf("JWT header %s: %v", raw, err)
	}
	return h.Kid
}

func TestIdentityBundle_SPIFFEFormatWithETag(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		// Public: no credentials needed.
		r := s.do("GET", "/api/v1/identity/bundle", nil).want(t, 200, "")
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=300" {
			t.Fatalf("Cache-Control %q, want the refresh hint (300 s)", cc)
		}
		b, err := spiffebundle.Parse(s.trustDomain(), r.Raw)
		if err != nil {
			t.Fatalf("not a SPIFFE bundle: %v\n%s", err, r.Raw)
		}
		if !b.Equal(s.issuerBundle()) {
			t.Fatal("the served bundle is not the issuer's")
		}
		if h, ok := b.RefreshHint(); !ok || h != identity.DefaultRefreshHint {
			t.Fatalf("refresh hint %v %v", h, ok)
		}
		etag := r.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		nm := s.do("GET", "/api/v1/identity/bundle", nil, hdr{"If-None-Match", etag})
		if nm.Status != 304 || len(nm.Raw) != 0 || nm.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match: %d %q %s", nm.Status, nm.Header.Get("ETag"), nm.Raw)
		}
		s.do("GET", "/api/v1/identity/bundle", nil, hdr{"If-None-Match", `"other"`}).want(t, 200, "")

		// A rotation changes the bundle (two JWT authorities now): the old ETag no longer
		// matches, and the new one is stable although go-spiffe writes JWT keys in map order.
		if err := s.server.Issuer().(*identity.Builtin).Rotate(); err != nil {
			t.Fatal(err)
		}
		r2 := s.do("GET", "/api/v1/identity/bundle", nil, hdr{"If-None-Match", etag}).want(t, 200, "")
		etag2 := r2.Header.Get("ETag")
		if etag2 == etag {
			t.Fatal("the ETag did not change with the bundle")
		}
		b2, err := spiffebundle.Parse(s.trustDomain(), r2.Raw)
		if err != nil || len(b2.JWTAuthorities()) != 2 || !b2.Equal(s.issuerBundle()) {
			t.Fatalf("bundle after rotation: %v %s", err, r2.Raw)
		}
		for range 10 {
			if got := s.do("GET", "/api/v1/identity/bundle", nil).want(t, 200, ""); got.Header.Get("ETag") != etag2 || string(got.Raw) != string(r2.Raw) {
				t.Fatalf("the bundle's representation is not stable: %s vs %s", got.Raw, r2.Raw)
			}
		}
		if s.do("GET", "/api/v1/identity/bundle", nil, hdr{"If-None-Match", etag2}).Status != 304 {
			t.Fatal("no 304 for the rotated bundle's ETag")
		}

		o := s.do("GET", "/openapi.json", nil).want(t, 200, "")
		paths := o.Body["paths"].(map[string]any)
		for _, p := range []string{"/api/v1/identity/bundle", "/api/v1/identity/svid"} {
			if _, ok := paths[p]; !ok {
				t.Errorf("OpenAPI lacks %s", p)
			}
		}
	})
}

func TestIdentityWellKnownBundle_FederationHandler(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		r := s.do("GET", "/.well-known/spiffe-bundle", nil).want(t, 200, "")
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q", ct)
		}
		b, err := spiffebundle.Parse(s.trustDomain(), r.Raw)
		if err != nil {
			t.Fatalf("not a SPIFFE bundle: %v\n%s", err, r.Raw)
		}
		if !b.Equal(s.issuerBundle()) {
			t.Fatal("the served bundle is not the issuer's")
		}
		// The agent tokens the stack accepts verify with the published JWT authority.
		tok := strings.TrimPrefix(s.agentToken("agt_alice", "")[1], "Bearer ")
		if _, ok := b.FindJWTAuthority(kidOf(t, tok)); !ok {
			t.Fatal("the agent token's key is not in the bundle")
		}
		teg, _ := identity.TEGID(s.trustDomain())
		svid, err := jwtsvid.ParseAndValidate(tok, b, []string{teg.String()})
		if err != nil || svid.ID.String() != "spiffe://"+s.trustDomain().Name()+"/agent/agt_alice" {
			t.Fatalf("agent token against the published bundle: %v %v", svid, err)
		}

		// Rotations are served at once (the source asks the issuer on every request).
		if err := s.server.Issuer().(*identity.Builtin).Rotate(); err != nil {
			t.Fatal(err)
		}
		fresh := strings.TrimPrefix(s.agentToken("agt_alice", "")[1], "Bearer ")
		b2, err := spiffebundle.Parse(s.trustDomain(), s.do("GET", "/.well-known/spiffe-bundle", nil).want(t, 200, "").Raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range []string{tok, fresh} {
			if _, err := jwtsvid.ParseAndValidate(tk, b2, []string{teg.String()}); err != nil {
				t.Fatalf("after rotation: %v", err)
			}
		}
		if _, ok := b.FindJWTAuthority(kidOf(t, fresh)); ok {
			t.Fatal("the key after rotation was already in the old bundle")
		}

		if h := s.do("HEAD", "/.well-known/spiffe-bundle", nil); h.Status != 200 {
			t.Fatalf("HEAD: %d", h.Status)
		}
		s.do("POST", "/.well-known/spiffe-bundle", "{}").want(t, 405, "METHOD_NOT_ALLOWED")
	})
}

func TestIdentitySVID_RenewFromCSR(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		alice := s.agentToken("agt_alice", "")
		id := "spiffe://" + s.trustDomain().Name() + "/agent/agt_alice"

		check := func(r resp, key *ecdsa.PrivateKey) {
			t.Helper()
			if r.str("spiffe_id") != id {
				t.Fatalf("spiffe_id = %s", r.Raw)
			}
			var chain []*x509.Certificate
			rest := []byte(r.str("cert_chain_pem"))
			for {
				var block *pem.Block
				block, rest = pem.Decode(rest)
				if block == nil {
					break
				}
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				chain = append(chain, c)
			}
			if len(chain) < 2 {
				t.Fatalf("chain of %d certificates: %s", len(chain), r.Raw)
			}
			got, _, err := x509svid.Verify(chain, s.issuerBundle())
			if err != nil || got.String() != id {
				t.Fatalf("the SVID does not verify for %s: %v %v", id, got, err)
			}
			if !chain[0].PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
				t.Fatal("the SVID is not for the CSR's key")
			}
			exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
			if err != nil || !exp.Equal(chain[0].NotAfter) {
				t.Fatalf("expires_at %q, leaf NotAfter %v", r.str("expires_at"), chain[0].NotAfter)
			}
			if ttl := time.Until(exp); ttl <= 50*time.Minute || ttl > identity.DefaultX509SVIDTTL {
				t.Fatalf("SVID lives %v, want the default of 1h", ttl)
			}
		}

		// PEM naming the caller's own ID, and base64 DER naming none.
		der, key := csrFor(t, id)
		check(s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": csrPEM(der)}, alice).want(t, 201, ""), key)
		der, key = csrFor(t, "")
		check(s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": base64.StdEncoding.EncodeToString(der)}, alice).want(t, 201, ""), key)

		// Authentication and policy: only an agent, for itself.
		own := map[string]any{"csr": csrPEM(der)}
		s.do("POST", "/api/v1/identity/svid", own).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/identity/svid", own, bearer("not-a-token")).want(t, 401, "INVALID_TOKEN")
		dev := s.register("dev@example.com", true)
		r := s.do("POST", "/api/v1/identity/svid", own, bearer(dev.Access)).want(t, 403, "FORBIDDEN")
		if r.details()["decision_id"] == nil {
			t.Fatalf("policy denial without decision id: %s", r.Raw)
		}
		if msg := r.Body["error"].(map[string]any)["message"]; msg != "identity.svid.renew is open to agent subjects only" {
			t.Fatalf("denial reason %v", msg)
		}
		s.do("POST", "/api/v1/identity/svid", own, bearer(s.adminKey)).want(t, 403, "FORBIDDEN")
		teg, _ := identity.TEGID(s.trustDomain())
		svc, err := s.server.Issuer().MintJWTSVID(context.Background(), teg, []string{teg.String()}, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.do("POST", "/api/v1/identity/svid", own, bearer(svc)).want(t, 403, "FORBIDDEN")

		// A CSR for another agent's ID: nothing issued.
		bobDER, _ := csrFor(t, "spiffe://"+s.trustDomain().Name()+"/agent/agt_bob")
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": csrPEM(bobDER)}, alice).want(t, 403, "CSR_ID_MISMATCH")
		otherTD, _ := csrFor(t, "spiffe://elsewhere.test/agent/agt_alice")
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": base64.StdEncoding.EncodeToString(otherTD)}, alice).want(t, 403, "CSR_ID_MISMATCH")

		// Garbage.
		for _, bad := range []string{
			"",
			"not a CSR at all!",
			base64.StdEncoding.EncodeToString([]byte("random bytes, not DER")),
			"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGRlcg==\n-----END CERTIFICATE REQUEST-----\n",
			"-----BEGIN CERTIFICATE REQUEST-----\ntruncated",
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			csrPEM(der) + csrPEM(der),
		} {
			s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": bad}, alice).want(t, 400, "INVALID_CSR")
		}
		tampered := append([]byte(nil), der...)
		tampered[len(tampered)-5] ^= 0xff // inside the signature
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": base64.StdEncoding.EncodeToString(tampered)}, alice).want(t, 400, "INVALID_CSR")

		// Oversized: past the issuer's limit, then past the field's.
		big := make([]byte, identity.MaxCSRSize+1)
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": base64.StdEncoding.EncodeToString(big)}, alice).want(t, 413, "CSR_TOO_LARGE")
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": strings.Repeat("A", 40000)}, alice).want(t, 422, "INVALID_FIELD")
		s.do("POST", "/api/v1/identity/svid", map[string]any{}, alice).want(t, 422, "MISSING_FIELD")
		s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": csrPEM(der), "ttl": 5}, alice).want(t, 422, "UNKNOWN_FIELD")
	})
}
