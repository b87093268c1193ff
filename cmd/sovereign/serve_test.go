package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
)

// start runs the command args until the test ends and returns its output buffer.
func start(t *testing.T, args ...string) (*syncBuffer, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	cmd := newRoot()
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: %v", args, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%v did not stop", args)
		}
	})
	return out, done
}

// waitMatch waits until re matches out and returns its first group.
func waitMatch(t *testing.T, out *syncBuffer, done <-chan error, re *regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("command ended: %v\n%s", err, out.String())
		default:
		}
	}
	t.Fatalf("no %s in:\n%s", re, out.String())
	return ""
}

func TestServe_SplitRegistryAndTEG(t *testing.T) {
	// Both services' SVIDs come from one CA: a directory they share (one host).
	ca := filepath.Join(t.TempDir(), "ca")
	tegOut, tegDone := start(t, "teg", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--mtls-addr", "127.0.0.1:0",
		"--identity-dir", ca, "--log-level", "error")
	mtls := waitMatch(t, tegOut, tegDone, regexp.MustCompile(`mtls +(https://127\.0\.0\.1:\d+)`))
	tegBase := waitMatch(t, tegOut, tegDone, regexp.MustCompile(`teg ready in \S+ on (http://127\.0\.0\.1:\d+)`))
	if !strings.Contains(tegOut.String(), "spiffe://sovereign.test/teg") || !strings.Contains(tegOut.String(), "avreg_") {
		t.Errorf("teg serve output lacks its SPIFFE ID or admin key:\n%s", tegOut)
	}

	regOut, regDone := start(t, "registry", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--teg-url", mtls,
		"--identity-dir", ca, "--registry-name", "eu-1", "--log-level", "error")
	regBase := waitMatch(t, regOut, regDone, regexp.MustCompile(`registry ready in \S+ on (http://127\.0\.0\.1:\d+)`))
	if !strings.Contains(regOut.String(), "spiffe://sovereign.test/registry/eu-1") {
		t.Errorf("registry serve output lacks its SPIFFE ID:\n%s", regOut)
	}

	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// the registry reaches the TEG over mTLS: its readiness says so
	if code, body := get(regBase + "/readyz"); code != 200 || !strings.Contains(body, `"teg":"ok"`) {
		t.Fatalf("registry /readyz: %d %s", code, body)
	}
	if code, _ := get(tegBase + "/api/v1/teg/params"); code != 200 {
		t.Fatalf("teg params: %d", code)
	}
	if code, _ := get(regBase + "/api/v1/teg/params"); code != 404 {
		t.Fatalf("the registry serves token routes: %d", code)
	}
	// a client without an SVID is refused on the mTLS listener
	if res, err := http.Get(mtls + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatalf("plain client on the mTLS listener: %d", res.StatusCode)
	}
}

func TestServe_RefusesMissingSettings(t *testing.T) {
	ctx := context.Background()
	if _, err := run(t, ctx, "teg", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--mtls-addr") {
		t.Errorf("teg serve without --mtls-addr: %v", err)
	}
	if _, err := run(t, ctx, "registry", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--teg-url") {
		t.Errorf("registry serve without --teg-url: %v", err)
	}
	if _, err := run(t, ctx, "registry", "serve", "--data", t.TempDir(), "--teg-url", "http://teg:1"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("registry serve with a plain-HTTP TEG URL: %v", err)
	}
	if _, err := run(t, ctx, "registry", "serve", "--data", t.TempDir(), "--teg-url", "https://teg:1", "--registry-name", "a/b"); err == nil || !strings.Contains(err.Error(), "registry_name") {
		t.Errorf("registry serve with a bad name: %v", err)
	}
	if _, err := run(t, ctx, "config", "print", "--policy-bundle", "ftp://x"); err == nil || !strings.Contains(err.Error(), "policy_bundle") {
		t.Errorf("config print with a bad policy bundle URL: %v", err)
	}
	out, err := run(t, ctx, "config", "print", "--policy-bundle", "https://opa.example/b.tar.gz")
	if err != nil || !strings.Contains(out, "policy_bundle: https://opa.example/b.tar.gz") {
		t.Errorf("config print --policy-bundle: %v\n%s", err, out)
	}
}

// TestServe_SplitRegistryWithItsOwnCAIsNotReady: a registry whose builtin CA is not the TEG's
// (separate --data folders, no shared --identity-dir) does not claim ready; it says why and
// what to do, and /readyz agrees.
func TestServe_SplitRegistryWithItsOwnCAIsNotReady(t *testing.T) {
	tegOut, tegDone := start(t, "teg", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--mtls-addr", "127.0.0.1:0", "--log-level", "error")
	mtls := waitMatch(t, tegOut, tegDone, regexp.MustCompile(`mtls +(https://127\.0\.0\.1:\d+)`))
	regOut, regDone := start(t, "registry", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--teg-url", mtls, "--log-level", "error")
	regBase := waitMatch(t, regOut, regDone, regexp.MustCompile(`registry listening on (http://127\.0\.0\.1:\d+) but NOT READY`))
	out := regOut.String()
	if strings.Contains(out, "registry ready") || !strings.Contains(out, "--identity-dir") || !strings.Contains(out, "teg ") {
		t.Fatalf("registry serve output:\n%s", out)
	}
	res, err := http.Get(regBase + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "NOT_READY") {
		t.Fatalf("/readyz: %d %s", res.StatusCode, b)
	}
}

func TestStartedEventIsOneJSONLine(t *testing.T) {
	var buf strings.Builder
	cfg := config.Default()
	cfg.Store = "postgres://u:secret@db/x"
	startedEvent(slog.New(slog.NewJSONHandler(&buf, nil)), "registry", "http://127.0.0.1:8420", cfg)
	var ev map[string]any
	if err := json.Unmarshal([]byte(buf.String()), &ev); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	if ev["msg"] != "started" || ev["role"] != "registry" || ev["address"] != "http://127.0.0.1:8420" || ev["trust_domain"] != "sovereign.test" ||
		ev["version"] == "" || strings.Contains(buf.String(), "secret") {
		t.Fatalf("started event: %v", ev)
	}
}
