package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sovereign-stack/sovereign/backup"
)

// FuzzCheck feeds arbitrary bytes to the archive reader: it must refuse them with an error or
// accept a manifest whose every file it checked, never panic or write outside its directory.
func FuzzCheck(f *testing.F) {
	dir := f.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "identity"), 0o700); err != nil {
		f.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "admin.key"), []byte("key\n"), 0o600)
	os.WriteFile(filepath.Join(data, "identity", "ca.pem"), []byte("ca"), 0o600)
	archive := filepath.Join(dir, "b.tar.gz")
	if _, err := backup.Create(context.Background(), data, archive, backup.Options{}); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(archive)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := filepath.Join(t.TempDir(), "in.tar.gz")
		if err := os.WriteFile(in, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := backup.Check(context.Background(), in, backup.Options{})
		if err == nil && m.Format != backup.Format {
			t.Fatalf("accepted a manifest of format %q", m.Format)
		}
	})
}
