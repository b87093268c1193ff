package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/sovereign-stack/sovereign/agentvault"
)

// runWithStdin runs the command line with stdin as its standard input.
func runWithStdin(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out syncBuffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// isolateKeyStore points the agentvault key file at a temporary file and clears the keyring
// opt-in, so tests never touch the user's own keys.
func isolateKeyStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agentvault", "keys.json")
	t.Setenv(agentvault.KeyFileEnv, path)
	t.Setenv(agentvault.KeyringEnv, "")
	return path
}

func TestConfigKeys_SetGetList(t *testing.T) {
	path := isolateKeyStore(t)
	t.Setenv("AGENTVAULT_KEY_ENVSVC", "from-the-environment")
	ctx := context.Background()

	out, err := runWithStdin(t, "avreg_0123456789abcdef\n", "config", "set", "agt_1")
	if err != nil || !strings.Contains(out, "agt_1 api_key saved in "+path) {
		t.Fatalf("set from stdin: %v\n%s", err, out)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Fatalf("key file %v, %v", fi, err)
	}
	if out, err := run(t, ctx, "config", "set", "agt_1", "cid_1", "--field", "client-id"); err != nil {
		t.Fatalf("set with a value: %v\n%s", err, out)
	}
	out, err = run(t, ctx, "config", "get", "agt_1")
	if err != nil || !strings.Contains(out, "agt_1 api_key (file): avreg_… (22 characters)") || strings.Contains(out, "0123456789") {
		t.Fatalf("get (masked): %v\n%s", err, out)
	}
	out, err = run(t, ctx, "config", "get", "agt_1", "--show")
	if err != nil || !strings.Contains(out, "avreg_0123456789abcdef") {
		t.Fatalf("get --show: %v\n%s", err, out)
	}
	out, err = run(t, ctx, "config", "get", "envsvc", "--show")
	if err != nil || !strings.Contains(out, "envsvc api_key (env): from-the-environment") {
		t.Fatalf("get from the environment: %v\n%s", err, out)
	}
	// The file takes precedence over the environment.
	if _, err := run(t, ctx, "config", "set", "envsvc", "from-the-file"); err != nil {
		t.Fatal(err)
	}
	if out, _ := run(t, ctx, "config", "get", "envsvc", "--show"); !strings.Contains(out, "(file): from-the-file") {
		t.Fatalf("file over env:\n%s", out)
	}
	out, err = run(t, ctx, "config", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"agt_1   api_key", "agt_1   oauth_client_id", "envsvc  api_key", "ENVSVC  api_key"} {
		if !strings.Contains(out, want) {
			t.Fatalf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "avreg_") {
		t.Fatalf("list shows a value:\n%s", out)
	}
	if _, err := run(t, ctx, "config", "get", "nobody"); err == nil || !strings.Contains(err.Error(), "AGENTVAULT_KEY_NOBODY") {
		t.Fatalf("missing key = %v", err)
	}
	if _, err := run(t, ctx, "config", "set", "x", "v", "--field", "password"); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := runWithStdin(t, "", "config", "set", "x"); err == nil {
		t.Fatal("empty standard input accepted")
	}
	// An exposed key file is refused.
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := run(t, ctx, "config", "get", "agt_1"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("get from a 0644 file = %v", err)
		}
	}
	// `config print` is still there.
	if out, err := run(t, ctx, "config", "print", "--data", t.TempDir()); err != nil || out == "" {
		t.Fatalf("config print: %v", err)
	}
}

func TestConfigKeys_Keyring(t *testing.T) {
	isolateKeyStore(t)
	keyring.MockInit()
	ctx := context.Background()
	if out, err := run(t, ctx, "config", "set", "svc", "in-the-keyring", "--keyring"); err != nil || !strings.Contains(out, "OS keyring") {
		t.Fatalf("set --keyring: %v\n%s", err, out)
	}
	if _, err := run(t, ctx, "config", "get", "svc"); err == nil {
		t.Fatal("the keyring was read without opting in")
	}
	out, err := run(t, ctx, "config", "get", "svc", "--keyring", "--show")
	if err != nil || !strings.Contains(out, "(keyring): in-the-keyring") {
		t.Fatalf("get --keyring: %v\n%s", err, out)
	}
	if out, err := run(t, ctx, "config", "list", "--keyring"); err != nil || !strings.Contains(out, "no keys") {
		t.Fatalf("list (the keyring cannot be listed): %v\n%s", err, out)
	}
}
