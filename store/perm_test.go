//go:build unix

package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sovereign-stack/sovereign/store"
)

// TestSQLite_FilesArePrivate: with the most permissive umask, a new database, its -wal and -shm
// files and its new directory are created 0600 and 0700, and nothing is warned about.
func TestSQLite_FilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "sovereign.db")
	var logs bytes.Buffer
	db, err := store.Open(context.Background(), "sqlite://"+path, store.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil { // writes: the -wal and -shm exist now
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(p), got, want)
		}
	}
	if logs.Len() != 0 {
		t.Fatalf("warnings on a private database: %s", logs.String())
	}
}

// TestSQLite_WarnsAboutASharedExistingFile: an existing database file readable by others is
// left as it is, with a warning naming it and the fix.
func TestSQLite_WarnsAboutASharedExistingFile(t *testing.T) {
	dir := t.TempDir()
	// The test's own temporary directory is private (0700): open it, so that the file is
	// reachable by others.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "old.db")
	out := openShared(t, path)
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "path="+path+" ") || !strings.Contains(out, "mode=0644") || !strings.Contains(out, "chmod 600 "+path) {
		t.Fatalf("no warning for a 0644 database:\n%s", out)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("the existing file's mode was changed to %04o", fi.Mode().Perm())
	}
}

// TestSQLite_NoWarningBehindAPrivateDirectory: a 0644 database in a 0755 directory inside a
// 0700 one (a private home directory) is not open to other users, and nothing is warned about.
func TestSQLite_NoWarningBehindAPrivateDirectory(t *testing.T) {
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(private, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out := openShared(t, filepath.Join(dir, "old.db")); out != "" {
		t.Fatalf("a warning for a file no other user can reach:\n%s", out)
	}
}

// openShared creates an empty database file at path with mode 0644, opens it and returns what
// the store logged.
func openShared(t *testing.T, path string) string {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	db, err := store.Open(context.Background(), "sqlite://"+path, store.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return logs.String()
}
