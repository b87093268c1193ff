package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/tlscert"
)

// startUp runs `sovereign up` with args until the test ends and returns its base URL and what
// it printed by then.
func startUp(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	cmd := newRoot()
	cmd.SetOut(out)
	cmd.SetArgs(append([]string{"up", "--addr", "127.0.0.1:0", "--log-level", "error"}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("up: %v", err)
		}
	})
	re := regexp.MustCompile(`ready in \S+ on (https?://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "federation") {
			return m[1], out
		}
	}
	t.Fatalf("up printed no ready line:\n%s", out.String())
	return "", nil
}

func TestUpTLS_SelfSignedCertificateTrustedThroughCAFile(t *testing.T) {
	defaultTransport := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = defaultTransport })
	t.Setenv(caFileEnv, "")
	dir := t.TempDir()
	ctx := context.Background()
	base, out := startUp(t, "--data", dir, "--tls")
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("up --tls serves %s", base)
	}
	certFile := filepath.Join(dir, "tls", "cert.pem")
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`SHA-256 fingerprint (\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "--ca-file "+certFile) {
		t.Fatalf("up --tls did not print the fingerprint and the file to trust:\n%s", out.String())
	}
	pool, err := tlscert.Pool(certFile)
	if err != nil || pool == nil || len(b) == 0 {
		t.Fatal(err)
	}

	_, err = run(t, ctx, "discover", "--registry", base)
	if err == nil || !strings.Contains(explain(err), "--ca-file") {
		t.Fatalf("discover without --ca-file: %v", err)
	}
	got, err := run(t, ctx, "discover", "--registry", base, "--ca-file", certFile)
	if err != nil || !strings.Contains(got, "no agent cards match") {
		t.Fatalf("discover --ca-file: %v\n%s", err, got)
	}
	http.DefaultTransport = defaultTransport
	t.Setenv(caFileEnv, certFile)
	if got, err := run(t, ctx, "discover", "--registry", base); err != nil {
		t.Fatalf("discover with %s: %v\n%s", caFileEnv, err, got)
	}
	if _, err := run(t, ctx, "discover", "--registry", base, "--ca-file", certFile+".missing"); err == nil {
		t.Fatal("a missing --ca-file was accepted")
	}
	if _, err := run(t, ctx, "up", "--data", t.TempDir(), "--tls", "--tls-cert", certFile, "--tls-key", certFile); err == nil {
		t.Fatal("--tls with --tls-cert was accepted")
	}
}

func TestUpTLS_KeepsItsCertificateAcrossStarts(t *testing.T) {
	dir := t.TempDir()
	fingerprint := regexp.MustCompile(`SHA-256 fingerprint (\S+)`)
	func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := &syncBuffer{}
		cmd := newRoot()
		cmd.SetOut(out)
		cmd.SetArgs([]string{"up", "--data", dir, "--tls", "--addr", "127.0.0.1:0", "--log-level", "error"})
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !fingerprint.MatchString(out.String()); time.Sleep(20 * time.Millisecond) {
		}
		cancel()
		<-done
		if !strings.Contains(out.String(), "made now") {
			t.Fatalf("first start:\n%s", out.String())
		}
	}()
	first, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	_, out := startUp(t, "--data", dir, "--tls")
	second, _ := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if string(first) != string(second) || !strings.Contains(out.String(), "kept from an earlier start") {
		t.Fatalf("second start replaced the certificate:\n%s", out.String())
	}
}

func TestBackupRestoreVerify_WhileUpRuns(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	data := filepath.Join(work, "data")
	startUp(t, "--data", data)
	archive := filepath.Join(work, "backup.tar.gz")
	got, err := run(t, ctx, "backup", "--data", data, "--out", archive)
	if err != nil || !strings.Contains(got, "1 SQLite databases") {
		t.Fatalf("backup: %v\n%s", err, got)
	}
	if _, err := run(t, ctx, "backup", "--data", data); err == nil {
		t.Fatal("backup without --out was accepted")
	}
	if got, err := run(t, ctx, "restore", "--check", "--in", archive); err != nil || !strings.Contains(got, "is sound") {
		t.Fatalf("restore --check: %v\n%s", err, got)
	}
	os.WriteFile(filepath.Join(work, "bad.tar.gz"), []byte("not an archive"), 0o600)
	if _, err := run(t, ctx, "restore", "--check", "--in", filepath.Join(work, "bad.tar.gz")); err == nil {
		t.Fatal("restore --check accepted a file that is not an archive")
	}
	restored := filepath.Join(work, "restored")
	if got, err := run(t, ctx, "restore", "--in", archive, "--data", restored); err != nil || !strings.Contains(got, "teg verify --data") {
		t.Fatalf("restore: %v\n%s", err, got)
	}
	got, err = run(t, ctx, "teg", "verify", "--data", restored)
	if err != nil || !strings.Contains(got, "teg verify: OK") {
		t.Fatalf("teg verify --data: %v\n%s", err, got)
	}
	if _, err := os.Stat(filepath.Join(restored, "admin.key")); err != nil {
		t.Fatalf("the admin key was not restored: %v", err)
	}
	if _, err := run(t, ctx, "restore", "--in", archive, "--data", restored); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("restore over a data directory: %v", err)
	}
	if got, err := run(t, ctx, "restore", "--in", archive, "--data", restored, "--force"); err != nil || !strings.Contains(got, "pre-restore") {
		t.Fatalf("restore --force: %v\n%s", err, got)
	}
	if _, err := run(t, ctx, "teg", "verify", "--data", filepath.Join(work, "nothing")); err == nil || !strings.Contains(err.Error(), "no ledger database") {
		t.Fatalf("teg verify of an empty data directory: %v", err)
	}
}
