//go:build unix

package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUp_MetricsOnTheirOwnListenerAndPrivateFiles runs `up --metrics-addr` under the most
// permissive umask: /metrics answers on the metrics listener it prints and 404 on the public
// one, and the database files and the data directory are private.
func TestUp_MetricsOnTheirOwnListenerAndPrivateFiles(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"up", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("up returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("up did not stop")
		}
	}()

	ready := regexp.MustCompile(`ready in \S+ on (http://127\.0\.0\.1:\d+)`)
	metrics := regexp.MustCompile(`metrics +(http://127\.0\.0\.1:\d+/metrics)`)
	var base, murl string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && (base == "" || murl == ""); time.Sleep(20 * time.Millisecond) {
		if m := ready.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if m := metrics.FindStringSubmatch(out.String()); m != nil {
			murl = m[1]
		}
	}
	if base == "" || murl == "" {
		t.Fatalf("up printed no ready or metrics line:\n%s", out.String())
	}
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(murl); code != 200 || !strings.Contains(body, "sovereign_password_hashes_in_flight") {
		t.Fatalf("metrics listener: %d %.200s", code, body)
	}
	if code, _ := get(base + "/metrics"); code != 404 {
		t.Fatalf("public /metrics answered %d, want 404", code)
	}
	// A write, so that the -wal and -shm exist.
	if code, _ := get(base + "/healthz"); code != 200 {
		t.Fatal("healthz")
	}
	db := filepath.Join(dir, "sovereign.db")
	for p, want := range map[string]os.FileMode{dir: 0o700, db: 0o600, db + "-wal": 0o600, db + "-shm": 0o600, filepath.Join(dir, "admin.key"): 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
}
