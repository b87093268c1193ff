package tlscert_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/tlscert"
)

func TestEnsureSelfSigned_MadeOnceThenKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	first, err := tlscert.EnsureSelfSigned(dir, []string{"localhost", "127.0.0.1", "::1"}, now)
	if err != nil || !first.Created {
		t.Fatalf("first: %+v %v", first, err)
	}
	for _, p := range []string{first.CertFile, first.KeyFile} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	again, err := tlscert.EnsureSelfSigned(dir, []string{"127.0.0.1"}, now.Add(24*time.Hour))
	if err != nil || again.Created || again.Fingerprint != first.Fingerprint {
		t.Fatalf("second start made a new certificate: %+v %v", again, err)
	}
	// A name it does not cover, or an end within RenewBefore, replaces it.
	other, err := tlscert.EnsureSelfSigned(dir, []string{"127.0.0.1", "sovereign.example"}, now)
	if err != nil || !other.Created || other.Fingerprint == first.Fingerprint || !slices.Contains(other.Hosts, "sovereign.example") {
		t.Fatalf("new name: %+v %v", other, err)
	}
	late, err := tlscert.EnsureSelfSigned(dir, []string{"127.0.0.1"}, now.Add(tlscert.SelfSignedValidity-tlscert.RenewBefore/2))
	if err != nil || !late.Created {
		t.Fatalf("near its end: %+v %v", late, err)
	}
	// The pair loads, and a client trusting the certificate file verifies it.
	if _, err := tls.LoadX509KeyPair(late.CertFile, late.KeyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := tlscert.Pool(late.CertFile); err != nil {
		t.Fatal(err)
	}
}

func TestPool_RefusesAFileWithoutCertificates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(p, []byte("nothing here"), 0o600)
	if _, err := tlscert.Pool(p); err == nil {
		t.Fatal("accepted a CA file without a certificate")
	}
	if _, err := tlscert.Pool(p + ".missing"); err == nil {
		t.Fatal("accepted a missing CA file")
	}
}

func TestHosts(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct {
		addr, url string
		want      []string
	}{
		{"127.0.0.1:8420", "https://127.0.0.1:8420", []string{"127.0.0.1", "localhost", "::1"}},
		{"0.0.0.0:443", "https://sovereign.example", []string{"sovereign.example", "localhost", "127.0.0.1", "::1", host}},
		{"10.1.2.3:443", "https://10.1.2.3", []string{"10.1.2.3"}},
	} {
		if got := tlscert.Hosts(c.addr, c.url); !slices.Equal(got, c.want) {
			t.Errorf("Hosts(%q, %q) = %v, want %v", c.addr, c.url, got, c.want)
		}
	}
}
