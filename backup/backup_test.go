package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/backup"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// openLedger opens (creating) the SQLite store of dataDir and the ledger on it.
func openLedger(t testing.TB, dataDir string) (*store.DB, *tegsql.Ledger) {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dataDir, "sovereign.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	t.Cleanup(func() { l.Close(); db.Close() })
	return db, l
}

// fund mints and opens n funded accounts.
func fund(t testing.TB, l *tegsql.Ledger, n int) []teg.AccountID {
	t.Helper()
	ctx := context.Background()
	cmds := []teg.Command{{Kind: teg.KindMint, ID: "mint", Amount: avt.AVT(1_000_000)}}
	ids := make([]teg.AccountID, n)
	for i := range ids {
		ids[i] = teg.AccountID(fmt.Sprintf("agt_%04d", i))
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(ids[i]), To: ids[i]},
			teg.Command{Kind: teg.KindGrant, ID: "grant-" + string(ids[i]), To: ids[i], Amount: avt.AVT(10_000)})
	}
	if _, err := l.Submit(ctx, cmds, true); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestBackup_DuringTransferLoadRestoresEveryAcknowledgedTransfer is the backup's proof: with
// goroutines committing transfers all along, an archive made meanwhile restores to a ledger
// that verifies and holds every transfer acknowledged before the backup began.
func TestBackup_DuringTransferLoadRestoresEveryAcknowledgedTransfer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	_, l := openLedger(t, data)
	ids := fund(t, l, 16)
	if err := os.WriteFile(filepath.Join(data, "admin.key"), []byte("sov_admin_key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "identity"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "identity", "ca.pem"), []byte("ca"), 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		acked []string // transfer ids, in the order the ledger acknowledged them
		stop  atomic.Bool
		wg    sync.WaitGroup
		fail  atomic.Value
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("load-%d-%d", g, i)
				from, to := ids[(g+i)%len(ids)], ids[(g+i+1)%len(ids)]
				if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindTransfer, ID: id, From: from, To: to, Amount: avt.MustParse("0.01")}); err != nil {
					fail.Store(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	waitFor := func(n int) {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) || fail.Load() != nil {
				t.Fatalf("load: %d of %d transfers acknowledged; %v", got, n, fail.Load())
			}
		}
	}
	waitFor(200)
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	archive := filepath.Join(dir, "backup.tar.gz")
	began := time.Now()
	m, err := backup.Create(ctx, data, archive, backup.Options{Build: "test"})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	waitFor(len(before) + 50) // the load went on after the backup
	stop.Store(true)
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		t.Fatal(err)
	}
	if m.Databases() != 1 || m.SchemaVersion() == 0 || len(m.Files) != 3 {
		t.Fatalf("manifest %+v", m)
	}

	restored := filepath.Join(dir, "restored")
	res, err := backup.Restore(ctx, archive, restored, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous != "" {
		t.Fatalf("previous %q for a new directory", res.Previous)
	}
	if b, err := os.ReadFile(filepath.Join(restored, "identity", "ca.pem")); err != nil || string(b) != "ca" {
		t.Fatalf("identity/ca.pem: %q %v", b, err)
	}
	_, rl := openLedger(t, restored)
	rep, err := rl.Verify(ctx)
	if err != nil {
		t.Fatalf("verify the restored ledger: %v", err)
	}
	for _, id := range before {
		if _, ok, err := rl.Transfer(ctx, id); err != nil || !ok {
			t.Fatalf("transfer %s, acknowledged before the backup began, is not in the restored ledger (%v)", id, err)
		}
	}
	mu.Lock()
	total := len(acked)
	mu.Unlock()
	t.Logf("backup under load took %s; %d transfers acknowledged before it began, %d in all; restored ledger: %d events", took, len(before), total, rep.Events)
}

// backupOf makes a data directory with one small ledger and returns its archive.
func backupOf(t *testing.T) (dir, archive string) {
	t.Helper()
	dir = t.TempDir()
	data := filepath.Join(dir, "data")
	db, l := openLedger(t, data)
	fund(t, l, 2)
	l.Close()
	db.Close()
	archive = filepath.Join(dir, "b.tar.gz")
	if _, err := backup.Create(context.Background(), data, archive, backup.Options{}); err != nil {
		t.Fatal(err)
	}
	return dir, archive
}

func TestRestore_RefusesANonEmptyTargetUnlessForced(t *testing.T) {
	ctx := context.Background()
	dir, archive := backupOf(t)
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "old"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(ctx, archive, target, backup.Options{}); !errors.Is(err, backup.ErrNotEmpty) {
		t.Fatalf("restore into a non-empty directory: %v", err)
	}
	res, err := backup.Restore(ctx, archive, target, backup.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(res.Previous, "old")); err != nil || string(b) != "x" {
		t.Fatalf("the former contents were not kept at %q: %v", res.Previous, err)
	}
	if _, err := os.Stat(filepath.Join(target, "sovereign.db")); err != nil {
		t.Fatal(err)
	}
	// An empty directory is restored into without force.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(ctx, archive, empty, backup.Options{}); err != nil {
		t.Fatal(err)
	}
}

// rewrite copies the archive at in to a new file, passing each entry through edit (which may
// change its header and body, or drop it by returning a nil header).
func rewrite(t *testing.T, in string, edit func(h *tar.Header, body []byte) (*tar.Header, []byte)) string {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		h, body = edit(h, body)
		if h == nil {
			continue
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	zw.Close()
	out := in + ".edited"
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRestore_RefusesABadArchive(t *testing.T) {
	ctx := context.Background()
	dir, archive := backupOf(t)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not an archive"), 0o600)
	cases := map[string]string{
		"not gzip": garbage,
		"a flipped byte": rewrite(t, archive, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "data/sovereign.db" {
				b[len(b)/2] ^= 1
			}
			return h, b
		}),
		"a missing file": rewrite(t, archive, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "data/sovereign.db" {
				return nil, nil
			}
			return h, b
		}),
		"an unlisted file": rewrite(t, archive, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == "data/sovereign.db" {
				h.Name = "data/../../escape"
			}
			return h, b
		}),
		"another format": rewrite(t, archive, func(h *tar.Header, b []byte) (*tar.Header, []byte) {
			if h.Name == backup.ManifestName {
				b = bytes.Replace(b, []byte(backup.Format), []byte("something-else"), 1)
			}
			return h, b
		}),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "data")
			if _, err := backup.Restore(ctx, in, target, backup.Options{}); !errors.Is(err, backup.ErrInvalid) && name != "not gzip" {
				t.Fatalf("restore: %v, want ErrInvalid", err)
			} else if err == nil {
				t.Fatal("restored a bad archive")
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Fatalf("a refused restore left %s behind (%v)", target, err)
			}
		})
	}
}

func TestRestore_RefusesANewerSchema(t *testing.T) {
	_, archive := backupOf(t)
	m, err := backup.Check(context.Background(), archive, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = backup.Restore(context.Background(), archive, filepath.Join(t.TempDir(), "d"), backup.Options{LatestSchema: m.SchemaVersion() - 1})
	if !errors.Is(err, backup.ErrInvalid) {
		t.Fatalf("restore of a newer schema: %v", err)
	}
}

func TestCreate_RefusesAnArchiveInsideTheDataDirectory(t *testing.T) {
	data := t.TempDir()
	if _, err := backup.Create(context.Background(), data, filepath.Join(data, "b.tar.gz"), backup.Options{}); err == nil {
		t.Fatal("wrote the archive into the directory it copies")
	}
	if _, err := backup.Create(context.Background(), filepath.Join(data, "missing"), filepath.Join(t.TempDir(), "b.tar.gz"), backup.Options{}); err == nil {
		t.Fatal("backed up a missing directory")
	}
}
