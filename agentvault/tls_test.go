package agentvault_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/tlscert"
)

// startTLSStack serves the embedded stack over TLS with a self-signed certificate and returns
// its https URL and the certificate file.
func startTLSStack(t *testing.T) (url, caFile string) {
	t.Helper()
	ss, err := tlscert.EnsureSelfSigned(filepath.Join(t.TempDir(), "tls"), []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.TLS = config.TLS{Cert: ss.CertFile, Key: ss.KeyFile}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
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
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return "https://" + ln.Addr().String(), ss.CertFile
}

func TestCAFile_TrustsTheStacksCertificate(t *testing.T) {
	ctx := context.Background()
	url, caFile := startTLSStack(t)
	discover := func(opts ...agentvault.Option) error {
		_, err := agentvault.NewRegistry(url, nil, opts...).Discover(ctx, "", agentvault.Filters{})
		return err
	}
	t.Setenv(agentvault.CAFileEnv, "")
	var unknown x509.UnknownAuthorityError
	if err := discover(); !errors.As(err, &unknown) {
		t.Fatalf("without a CA file: %v, want an unknown authority", err)
	}
	if err := discover(agentvault.WithCAFile(caFile)); err != nil {
		t.Fatalf("WithCAFile: %v", err)
	}
	hc, err := agentvault.NewHTTPClient(caFile, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := discover(agentvault.WithHTTPClient(hc)); err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	if err := discover(agentvault.WithCAFile(caFile + ".missing")); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Fatalf("a missing CA file: %v", err)
	}
	t.Setenv(agentvault.CAFileEnv, caFile)
	if err := discover(); err != nil {
		t.Fatalf("%s: %v", agentvault.CAFileEnv, err)
	}
}
