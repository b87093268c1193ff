package identityhttp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity"
)

var td = spiffeid.RequireTrustDomainFromString("sovereign.test")

func newIssuer(t *testing.T) *identity.Builtin {
	t.Helper()
	b, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "ca"), td, identity.WithRefreshHint(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeCSR(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})) }
	b64 := base64.StdEncoding.EncodeToString(der)
	for name, in := range map[string]string{
		"pem":             pemOf("CERTIFICATE REQUEST"),
		"pem, old type":   pemOf("NEW CERTIFICATE REQUEST"),
		"pem, blanks":     "\n  " + pemOf("CERTIFICATE REQUEST") + "\n\n",
		"base64":          b64,
		"base64 wrapped":  b64[:40] + "\n" + b64[40:80] + "\r\n" + b64[80:],
		"base64 unpadded": base64.RawStdEncoding.EncodeToString(der),
		"base64url":       base64.RawURLEncoding.EncodeToString(der),
	} {
		got, err := decodeCSR(in)
		if err != nil || string(got) != string(der) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got, err := decodeCSR("  "); err != nil || got != nil {
		t.Errorf("blank: %v %v (the issuer reports an empty CSR)", got, err)
	}
	for name, in := range map[string]string{
		"certificate pem": pemOf("CERTIFICATE"),
		"two blocks":      pemOf("CERTIFICATE REQUEST") + pemOf("CERTIFICATE REQUEST"),
		"trailing text":   pemOf("CERTIFICATE REQUEST") + "and more",
		"broken pem":      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA",
		"not base64":      "!!not base64!!",
	} {
		if _, err := decodeCSR(in); apperr.CodeOf(err) != identity.CodeInvalidCSR || apperr.KindOf(err) != apperr.BadRequest {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCanonicalBundle_OrdersJWTAuthoritiesByKeyID(t *testing.T) {
	iss := newIssuer(t)
	for range 3 {
		if err := iss.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := iss.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	first, err := bundleJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []struct{ Use, Kid string } `json:"keys"`
	}
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 5 || doc.Keys[0].Use != "x509-svid" {
		t.Fatalf("keys %+v", doc.Keys)
	}
	for i := 2; i < len(doc.Keys); i++ {
		if doc.Keys[i-1].Kid >= doc.Keys[i].Kid {
			t.Fatalf("JWT authorities out of order: %+v", doc.Keys)
		}
	}
	parsed, err := spiffebundle.Parse(td, first)
	if err != nil || !parsed.Equal(b) {
		t.Fatalf("the canonical form is another bundle: %v", err)
	}
	for range 20 {
		again, err := bundleJSON(b)
		if err != nil || string(again) != string(first) {
			t.Fatalf("unstable: %v", err)
		}
	}
}

// failingIssuer cannot produce its bundle.
type failingIssuer struct{ identity.Issuer }

func (failingIssuer) Bundle(context.Context) (*spiffebundle.Bundle, error) {
	return nil, errors.New("the CA is on fire")
}

func TestBundleSource(t *testing.T) {
	iss := newIssuer(t)
	src := BundleSource{Issuer: iss}
	b, err := src.GetBundleForTrustDomain(td)
	if err != nil || b.TrustDomain() != td {
		t.Fatal(err)
	}
	if _, err := src.GetBundleForTrustDomain(spiffeid.RequireTrustDomainFromString("elsewhere.test")); apperr.CodeOf(err) != identity.CodeWrongTrustDomain {
		t.Fatalf("other trust domain: %v", err)
	}
	// Rotations are visible on the next lookup.
	if err := iss.Rotate(); err != nil {
		t.Fatal(err)
	}
	b2, _ := src.GetBundleForTrustDomain(td)
	if b2.Equal(b) {
		t.Fatal("the source serves a stale bundle")
	}
}

func TestWellKnownHandler(t *testing.T) {
	iss := newIssuer(t)
	h, err := WellKnownHandler(iss)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, WellKnownPath, nil))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	b, err := spiffebundle.Parse(td, rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if hint, ok := b.RefreshHint(); !ok || hint != 90*time.Second {
		t.Fatalf("refresh hint %v", hint)
	}

	// A failing issuer: an error envelope, not go-spiffe's plain text.
	h, err = WellKnownHandler(failingIssuer{iss})
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, WellKnownPath, nil))
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Error.Code != "INTERNAL" {
		t.Fatalf("%d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}
