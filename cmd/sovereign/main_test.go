package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var out syncBuffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestUp_ServesThenShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"up", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`ready in \S+ on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("up printed no ready line:\n%s", out.String())
	}
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	key, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil || !strings.Contains(out.String(), strings.TrimSpace(string(key))) {
		t.Fatalf("admin key not printed or not saved: %v\n%s", err, out.String())
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/developers/me", nil)
	req.Header.Set("X-Api-Key", strings.TrimSpace(string(key)))
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("admin key does not authenticate: %v %v", res, err)
	}
	var me map[string]any
	_ = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if me["role"] != "admin" {
		t.Fatalf("me = %v", me)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("up returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("up did not stop after cancellation")
	}

	// A second start reuses the data: no new admin key.
	ctx2, cancel2 := context.WithCancel(context.Background())
	var out2 syncBuffer
	cmd2 := newRoot()
	cmd2.SetOut(&out2)
	cmd2.SetArgs([]string{"up", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "error"})
	go func() { done <- cmd2.ExecuteContext(ctx2) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !re.MatchString(out2.String()); time.Sleep(20 * time.Millisecond) {
	}
	cancel2()
	<-done
	if strings.Contains(out2.String(), strings.TrimSpace(string(key))) || !strings.Contains(out2.String(), "admin.key") {
		t.Fatalf("second start:\n%s", out2.String())
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t, context.Background(), "version")
	if err != nil || !strings.HasPrefix(out, "sovereign ") {
		t.Fatalf("version = %q, %v", out, err)
	}
}

func TestConfigPrint_MasksSecretsAndHonoursPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:1111\nlog_level: warn\nsmtp:\n  host: mail.example.com\n  from: reg@example.com\n  password: hunter2-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOVEREIGN_ADDR", "127.0.0.1:2222")
	t.Setenv("SOVEREIGN_STORE", "postgres://u:pgsecret@db.example.com/sov")
	out, err := run(t, context.Background(), "config", "print", "--config", file, "--log-level", "debug")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2-secret", "pgsecret"} {
		if strings.Contains(out, secret) {
			t.Fatalf("config print shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"addr: 127.0.0.1:2222", "log_level: debug", "host: mail.example.com", "u:xxxxx@db.example.com"} {
		if !strings.Contains(out, want) {
			t.Fatalf("config print lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, context.Background(), "config", "print", "--log-level", "loud"); err == nil {
		t.Fatal("bad log level accepted")
	}
}

func TestMigrateAndDeveloperVerify(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, context.Background(), "migrate", "--data", dir)
	if err != nil || !strings.Contains(out, "sqlite schema at version") {
		t.Fatalf("migrate = %q, %v", out, err)
	}
	if _, err := run(t, context.Background(), "developer", "verify", "nobody@example.com", "--data", dir); err == nil || !strings.Contains(err.Error(), "DEVELOPER_NOT_FOUND") {
		t.Fatalf("verify unknown = %v", err)
	}
	out, err = run(t, context.Background(), "developer", "verify", "admin@sovereign.test", "--data", dir)
	if err != nil || !strings.Contains(out, "verified admin@sovereign.test") {
		t.Fatalf("verify admin = %q, %v", out, err)
	}
}
