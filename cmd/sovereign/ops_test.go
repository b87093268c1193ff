package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
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
	if err != nil || !strings.Contains(got, "(1 SQLite database, schema version") {
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

// TestBackup_DuringHTTPTransferLoad is the backup's proof end to end: while `up` answers
// grants over HTTP, `sovereign backup` archives the data directory; the restored copy passes
// `teg verify --data` and holds every transfer acknowledged before the backup began.
func TestBackup_DuringHTTPTransferLoad(t *testing.T) {
	for _, v := range []string{"SOVEREIGN_RATE_LIMITS_DEFAULT_PER_MINUTE", "SOVEREIGN_RATE_LIMITS_DEFAULT_BURST"} {
		t.Setenv(v, "1000000")
	}
	ctx := context.Background()
	work := t.TempDir()
	data := filepath.Join(work, "data")
	base, _ := startUp(t, "--data", data)
	key, err := os.ReadFile(filepath.Join(data, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, idem, body string) (map[string]any, error) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("X-Api-Key", strings.TrimSpace(string(key)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", idem)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated {
			return nil, fmt.Errorf("%s: %d %v %v", path, res.StatusCode, out, err)
		}
		return out, nil
	}
	if _, err := post("/api/v1/admin/teg/accounts", "open", `{"agent_id":"agt_backup_load"}`); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
		fail  atomic.Value
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				tr, err := post("/api/v1/token/grant", fmt.Sprintf("grant-%d-%d", g, i), `{"to":"agt_backup_load","amount":"0.01"}`)
				if err != nil {
					fail.Store(err)
					return
				}
				mu.Lock()
				acked = append(acked, tr["id"].(string))
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor := func(n int) {
		for deadline := time.Now().Add(30 * time.Second); count() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) || fail.Load() != nil {
				stop.Store(true)
				t.Fatalf("load: %d of %d grants acknowledged; %v", count(), n, fail.Load())
			}
		}
	}
	waitFor(100)
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	archive := filepath.Join(work, "backup.tar.gz")
	got, err := run(t, ctx, "backup", "--data", data, "--out", archive)
	if err != nil {
		stop.Store(true)
		t.Fatalf("backup: %v\n%s", err, got)
	}
	waitFor(len(before) + 30)
	stop.Store(true)
	wg.Wait()

	restored := filepath.Join(work, "restored")
	if got, err := run(t, ctx, "restore", "--in", archive, "--data", restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, got)
	}
	if got, err := run(t, ctx, "teg", "verify", "--data", restored); err != nil || !strings.Contains(got, "teg verify: OK") {
		t.Fatalf("teg verify --data: %v\n%s", err, got)
	}
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(restored, "sovereign.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	defer l.Close()
	for _, id := range before {
		if _, ok, err := l.Transfer(ctx, id); err != nil || !ok {
			t.Fatalf("grant %s, acknowledged before the backup began, is not in the restored ledger (%v)", id, err)
		}
	}
	t.Logf("%d grants acknowledged before the backup began, %d in all; all of the first in the restored ledger", len(before), count())
}
