package federation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/federation"
)

func selfSignedCA(t *testing.T) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestBundles_MalformedBundlesAreRecorded: a bundle endpoint answering garbage, or a key set
// without a usable X.509 authority, is an error on that peer's bundle status (and nothing verifies
// against it); a good bundle is used and refreshed on its hint; a later bad fetch keeps the
// last good bundle in use and says why.
func TestBundles_MalformedBundlesAreRecorded(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("b.test")
	good := spiffebundle.FromX509Authorities(td, []*x509.Certificate{selfSignedCA(t)})
	good.SetRefreshHint(time.Second)
	goodJSON, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	answers := map[string][]byte{"/garbage": []byte("{not json"), "/empty": []byte(`{"keys":[{"use":"x509-svid","kty":"EC"}]}`), "/good": goodJSON}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(answers[r.URL.Path])
	}))
	defer srv.Close()

	ctx := context.Background()
	for _, path := range []string{"/garbage", "/empty"} {
		t.Run(path, func(t *testing.T) {
			b := federation.NewBundles(nil, nil)
			defer b.Close()
			b.Sync(ctx, []federation.Peer{{TrustDomain: "b.test", BundleEndpoint: srv.URL + path}})
			st := waitStatus(t, b, td, func(st federation.BundleStatus) bool { return st.Error != "" })
			if st.RefreshedAt != nil {
				t.Fatalf("status %+v", st)
			}
			if _, err := b.GetX509BundleForTrustDomain(td); err == nil {
				t.Fatal("a malformed bundle verifies")
			}
		})
	}

	b := federation.NewBundles(nil, nil)
	defer b.Close()
	b.Sync(ctx, []federation.Peer{{TrustDomain: "b.test", BundleEndpoint: srv.URL + "/good"}})
	st := waitStatus(t, b, td, func(st federation.BundleStatus) bool { return st.RefreshedAt != nil })
	if st.RefreshHint != time.Second || st.NextRefresh.Sub(*st.RefreshedAt) != time.Second {
		t.Fatalf("the refresh hint is not honoured: %+v", st)
	}
	mu.Lock()
	answers["/good"] = []byte("garbage now")
	mu.Unlock()
	st = waitStatus(t, b, td, func(st federation.BundleStatus) bool { return st.Error != "" })
	if st.RefreshedAt == nil {
		t.Fatalf("status %+v", st)
	}
	if _, err := b.GetX509BundleForTrustDomain(td); err != nil {
		t.Fatalf("the last good bundle was dropped: %v", err)
	}
	b.Sync(ctx, nil)
	if _, err := b.GetX509BundleForTrustDomain(td); err == nil || b.Has(td) {
		t.Fatal("a peer no longer active still verifies")
	}
}

func waitStatus(t *testing.T, b *federation.Bundles, td spiffeid.TrustDomain, ok func(federation.BundleStatus) bool) federation.BundleStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, found := b.Status(td); found && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			st, _ := b.Status(td)
			t.Fatalf("bundle status never came: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
