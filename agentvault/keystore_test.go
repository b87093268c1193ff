package agentvault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestFileStore_RoundTripWithOwnerOnlyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "keys.json")
	s := NewFileStore(path)
	if _, err := s.Get(ctx, "agt_1", FieldAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get from a missing file = %v, want ErrNotFound", err)
	}
	for _, c := range []struct {
		id string
		f  Field
		v  string
	}{{"agt_1", FieldAPIKey, "k1"}, {"agt_1", FieldClientID, "cid"}, {"svc", FieldAPIKey, "k2"}, {"agt_1", FieldAPIKey, "k1b"}} {
		if err := s.Set(ctx, c.id, c.f, c.v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Get(ctx, "agt_1", FieldAPIKey); err != nil || v != "k1b" {
		t.Fatalf("get = %q, %v", v, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"agt_1", FieldAPIKey, "file"}, {"agt_1", FieldClientID, "file"}, {"svc", FieldAPIKey, "file"}}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Fatalf("list = %v, want %v", list, want)
	}
	if err := s.Delete(ctx, "svc", FieldAPIKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "svc", FieldAPIKey); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.Get(ctx, "svc", FieldAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete = %v", err)
	}
	// No temporary files are left beside it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only keys.json", len(entries))
	}
}

func TestFileStore_RefusesFileOthersCanRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.json")
	s := NewFileStore(path)
	if err := s.Set(ctx, "a", FieldAPIKey, "x"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "a", FieldAPIKey); !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("get = %v, want ErrInsecureFile", err)
	}
	if err := s.Set(ctx, "a", FieldAPIKey, "y"); !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("set = %v, want ErrInsecureFile (a write must not silently fix and reuse an exposed file)", err)
	}
}

func TestFileStore_RejectsBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := NewFileStore(filepath.Join(dir, "keys.json"))
	if err := s.Set(ctx, "", FieldAPIKey, "x"); err == nil {
		t.Fatal("empty id accepted")
	}
	if err := s.Set(ctx, "a", Field("password"), "x"); err == nil {
		t.Fatal("unknown field accepted")
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":1,"keys":{},"extra":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileStore(bad).Get(ctx, "a", FieldAPIKey); err == nil {
		t.Fatal("file with an unknown member read")
	}
}

func TestFileStore_ConcurrentWritersLoseNothing(t *testing.T) {
	ctx := context.Background()
	s := NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Set(ctx, fmt.Sprintf("id%02d", i), FieldAPIKey, fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list, err := s.List(ctx)
	if err != nil || len(list) != 20 {
		t.Fatalf("list = %d entries, %v", len(list), err)
	}
}

func TestEnvStore_NamesAndLookups(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		f    Field
		want string
	}{
		{FieldAPIKey, "AGENTVAULT_KEY_AGT_01J_X"},
		{FieldClientID, "AGENTVAULT_OAUTH_AGT_01J_X_CLIENT_ID"},
		{FieldClientSecret, "AGENTVAULT_OAUTH_AGT_01J_X_CLIENT_SECRET"},
		{FieldAgentKey, "AGENTVAULT_AGENT_KEY_AGT_01J_X"},
	} {
		if got := EnvName("agt_01j-x", c.f); got != c.want {
			t.Errorf("EnvName(%s) = %s, want %s", c.f, got, c.want)
		}
	}
	env := EnvStore{Environ: func() []string {
		return []string{"PATH=/bin", "AGENTVAULT_KEY_SVC=k", "AGENTVAULT_OAUTH_AGT_1_CLIENT_ID=cid",
			"AGENTVAULT_OAUTH_AGT_1_CLIENT_SECRET=sec", "AGENTVAULT_KEY_EMPTY=", "AGENTVAULT_KEY_FILE=/x"}
	}}
	if v, err := env.Get(ctx, "svc", FieldAPIKey); err != nil || v != "k" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if v, err := env.Get(ctx, "agt_1", FieldClientSecret); err != nil || v != "sec" {
		t.Fatalf("get secret = %q, %v", v, err)
	}
	if _, err := env.Get(ctx, "empty", FieldAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty variable = %v, want ErrNotFound", err)
	}
	if err := env.Set(ctx, "svc", FieldAPIKey, "x"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("set = %v", err)
	}
	list, _ := env.List(ctx)
	want := []Entry{{"AGT_1", FieldClientID, "env"}, {"AGT_1", FieldClientSecret, "env"}, {"FILE", FieldAPIKey, "env"}, {"SVC", FieldAPIKey, "env"}}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Fatalf("list = %v, want %v", list, want)
	}
}

func TestKeyringStore_WithMockKeyring(t *testing.T) {
	keyring.MockInit()
	ctx := context.Background()
	k := KeyringStore{Service: "agentvault-test"}
	if _, err := k.Get(ctx, "a", FieldAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get = %v", err)
	}
	if err := k.Set(ctx, "a", FieldAPIKey, "secret"); err != nil {
		t.Fatal(err)
	}
	if v, err := k.Get(ctx, "a", FieldAPIKey); err != nil || v != "secret" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if err := k.Delete(ctx, "a", FieldAPIKey); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, "a", FieldAPIKey); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := k.List(ctx); !errors.Is(err, ErrListUnsupported) {
		t.Fatalf("list = %v", err)
	}
}

func TestChainStore_PrecedenceFileThenEnvThenKeyring(t *testing.T) {
	keyring.MockInit()
	ctx := context.Background()
	file := NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	env := EnvStore{Environ: func() []string { return []string{"AGENTVAULT_KEY_A=from-env", "AGENTVAULT_KEY_B=from-env"} }}
	kr := KeyringStore{Service: "agentvault-chain-test"}
	for _, id := range []string{"a", "b", "c"} {
		if err := kr.Set(ctx, id, FieldAPIKey, "from-keyring"); err != nil {
			t.Fatal(err)
		}
	}
	if err := file.Set(ctx, "a", FieldAPIKey, "from-file"); err != nil {
		t.Fatal(err)
	}
	chain := NewChainStore(file, env, kr)
	for id, want := range map[string][2]string{"a": {"from-file", "file"}, "b": {"from-env", "env"}, "c": {"from-keyring", "keyring"}} {
		v, src, err := chain.Lookup(ctx, id, FieldAPIKey)
		if err != nil || v != want[0] || src != want[1] {
			t.Errorf("%s: %q from %q, %v; want %v", id, v, src, err, want)
		}
	}
	if _, err := chain.Get(ctx, "d", FieldAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing = %v", err)
	}
	// Writes go to the first writable store (the file) and so take precedence at once.
	if err := chain.Set(ctx, "b", FieldAPIKey, "new"); err != nil {
		t.Fatal(err)
	}
	if v, _ := file.Get(ctx, "b", FieldAPIKey); v != "new" {
		t.Fatalf("set did not reach the file: %q", v)
	}
	list, err := chain.List(ctx)
	if err != nil || len(list) != 4 { // file a, b; env A, B; keyring skipped
		t.Fatalf("list = %v, %v", list, err)
	}
	if err := NewChainStore(env).Set(ctx, "x", FieldAPIKey, "v"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("set on a read-only chain = %v", err)
	}
}

func TestDefaultKeyStore_KeyringOptIn(t *testing.T) {
	t.Setenv(KeyFileEnv, filepath.Join(t.TempDir(), "k.json"))
	t.Setenv(KeyringEnv, "")
	ks, err := DefaultKeyStore(false)
	if err != nil || len(ks.Stores()) != 2 {
		t.Fatalf("default chain = %d stores, %v", len(ks.Stores()), err)
	}
	if ks.Stores()[0].(*FileStore).Path() != os.Getenv(KeyFileEnv) {
		t.Fatal("AGENTVAULT_KEYS_FILE not used")
	}
	t.Setenv(KeyringEnv, "1")
	if ks, _ := DefaultKeyStore(false); len(ks.Stores()) != 3 {
		t.Fatal("AGENTVAULT_USE_KEYRING=1 did not add the keyring")
	}
}
