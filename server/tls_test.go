package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/tlscert"
)

// serveWith runs the embedded stack with cfg changed by edit on a loopback listener and
// returns its address.
func serveWith(t *testing.T, edit func(*config.Config)) string {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Onboarding.GenesisSupply = "0"
	edit(&cfg)
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, PasswordParams: fastPasswords})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return ln.Addr().String()
}

func clientTrusting(t *testing.T, caFile string, maxVersion uint16) *http.Client {
	t.Helper()
	tc := &tls.Config{MaxVersion: maxVersion}
	if caFile != "" {
		var err error
		if tc, err = tlscert.ClientConfig(caFile); err != nil {
			t.Fatal(err)
		}
		tc.MaxVersion = maxVersion
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
}

func TestTLS_PublicListenerServesTLS13WithHSTS(t *testing.T) {
	ss, err := tlscert.EnsureSelfSigned(filepath.Join(t.TempDir(), "tls"), []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveWith(t, func(c *config.Config) { c.TLS = config.TLS{Cert: ss.CertFile, Key: ss.KeyFile} })
	url := "https://" + addr + "/healthz"

	res, err := clientTrusting(t, ss.CertFile, 0).Get(url)
	if err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || res.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("status %d, TLS %+v", res.StatusCode, res.TLS)
	}
	if h := res.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Fatalf("Strict-Transport-Security %q", h)
	}
	if got := tlscert.Fingerprint(res.TLS.PeerCertificates[0].Raw); got != ss.Fingerprint {
		t.Fatalf("served fingerprint %s, made %s", got, ss.Fingerprint)
	}

	// Without the CA file the certificate is not trusted.
	_, err = clientTrusting(t, "", 0).Get(url)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("without the CA file: %v, want an unknown authority", err)
	}
	// A TLS 1.2 client is refused in the handshake.
	_, err = clientTrusting(t, ss.CertFile, tls.VersionTLS12).Get(url)
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.2 client: %v, want a protocol version alert", err)
	}
	// Plain HTTP on the TLS port gets no answer it could follow.
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Fatal("plain HTTP answered on the TLS listener")
	}
}

func TestTLS_PlainListenerHasNoHSTS(t *testing.T) {
	addr := serveWith(t, func(*config.Config) {})
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("status %d, Strict-Transport-Security %q on plain HTTP", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
}

func TestTLS_RenewedCertificateIsServedWithoutRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	first, err := tlscert.EnsureSelfSigned(dir, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveWith(t, func(c *config.Config) { c.TLS = config.TLS{Cert: first.CertFile, Key: first.KeyFile} })
	// A certificate for one more name replaces the pair in place.
	second, err := tlscert.EnsureSelfSigned(dir, []string{"127.0.0.1", "sovereign.example"}, time.Now())
	if err != nil || !second.Created || second.Fingerprint == first.Fingerprint {
		t.Fatalf("second certificate %+v %v", second, err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		res, err := clientTrusting(t, second.CertFile, 0).Get("https://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if tlscert.Fingerprint(res.TLS.PeerCertificates[0].Raw) == second.Fingerprint {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate is not served: %v", err)
		}
	}
}

func TestTLS_BadKeyPairFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	a, _ := tlscert.EnsureSelfSigned(filepath.Join(dir, "a"), []string{"localhost"}, time.Now())
	b, _ := tlscert.EnsureSelfSigned(filepath.Join(dir, "b"), []string{"localhost"}, time.Now())
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.TLS = config.TLS{Cert: a.CertFile, Key: b.KeyFile}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.PublicURL, "https://") {
		t.Fatalf("public URL %s with TLS", cfg.PublicURL)
	}
	if _, err := newServerErr(cfg); err == nil || !strings.Contains(err.Error(), "key pair") {
		t.Fatalf("mismatched key pair: %v", err)
	}
	os.Remove(a.CertFile)
	cfg.TLS.Key = a.KeyFile
	if _, err := newServerErr(cfg); err == nil {
		t.Fatal("a missing certificate file started")
	}
}
