// Package backup makes and restores consistent copies of a data directory. Every SQLite
// database in the directory is copied online — SQLite's VACUUM INTO, which reads the database
// in one read transaction, so writers carry on and the copy is one committed state — and every
// other file (the builtin CA's keys, the admin key, TLS files) is copied as it is. The copies go
// into one gzip-compressed tar archive that starts with a manifest: the format, when and by
// which build it was made, and each file's size, SHA-256 and, for a database, its schema
// version. Restore checks all of it before the restored directory takes the target's place.
//
// PostgreSQL stores are not copied here: they are backed up with the server's own base backup
// and WAL archiving (docs/OPERATIONS.md).
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// The archive format.
const (
	// Format names the archive format in the manifest.
	Format = "sovereign-backup"
	// FormatVersion is the version of the format this package writes and reads.
	FormatVersion = 1
	// ManifestName is the archive's first entry.
	ManifestName = "MANIFEST.json"
)

// Limits of what Restore accepts, so that a damaged or hostile archive cannot exhaust memory or
// disk before it is found out.
const (
	maxManifestBytes = 4 << 20
	maxFiles         = 100_000
	maxFileBytes     = 1 << 40
)

// The kinds of files in an archive.
const (
	// KindSQLite is a SQLite database, copied online.
	KindSQLite = "sqlite"
	// KindFile is any other file, copied as it is.
	KindFile = "file"
)

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// Manifest describes an archive: what made it and every file it holds.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// Build is the build of sovereign that made the archive.
	Build string `json:"build,omitempty"`
	Files []File `json:"files"`
}

// File is one file of an archive.
type File struct {
	// Path is the file's path in the data directory, slash-separated.
	Path string `json:"path"`
	// Kind is KindSQLite or KindFile.
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// SchemaVersion is a database's newest applied migration (0 for a database without any).
	SchemaVersion int64 `json:"schema_version,omitempty"`
}

// SchemaVersion is the highest schema version of the archive's databases.
func (m Manifest) SchemaVersion() int64 {
	var v int64
	for _, f := range m.Files {
		v = max(v, f.SchemaVersion)
	}
	return v
}

// Databases counts the archive's SQLite databases.
func (m Manifest) Databases() int {
	n := 0
	for _, f := range m.Files {
		if f.Kind == KindSQLite {
			n++
		}
	}
	return n
}

// Options tune Create and Restore; the zero value is ready to use.
type Options struct {
	// Build is recorded in the manifest (the caller's build string).
	Build string
	// Now is the clock of the manifest's time (time.Now when nil).
	Now func() time.Time
	// LatestSchema, when positive, is the newest schema version the restoring binary knows:
	// Restore refuses an archive with a newer database, which this binary could not run.
	LatestSchema int64
	// Force lets Restore replace a data directory that is not empty; the old one is kept
	// beside it, renamed (Result.Previous).
	Force bool
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// Create writes an archive of the data directory dataDir to out: first to a temporary file
// beside out, synced, then renamed over out, so out is never a partial archive. Databases are
// copied while they are in use; every write committed before Create began is in the copy.
func Create(ctx context.Context, dataDir, out string, o Options) (Manifest, error) {
	fi, err := os.Stat(dataDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: data directory: %w", err)
	}
	if !fi.IsDir() {
		return Manifest{}, fmt.Errorf("backup: data directory %s is not a directory", dataDir)
	}
	absData, err := filepath.Abs(dataDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if rel, err := filepath.Rel(absData, absOut); err == nil && filepath.IsLocal(rel) {
		return Manifest{}, fmt.Errorf("backup: the archive %s must be outside the data directory %s", out, dataDir)
	}
	staging, err := os.MkdirTemp(filepath.Dir(absOut), ".sovereign-backup-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: staging directory: %w", err)
	}
	defer os.RemoveAll(staging)

	m := Manifest{Format: Format, Version: FormatVersion, CreatedAt: o.now(), Build: o.Build}
	sources, err := collect(absData)
	if err != nil {
		return Manifest{}, err
	}
	copies := make([]string, len(sources)) // where each file's bytes are read from
	for i, src := range sources {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		// Every file is copied into the staging directory first, so that what is hashed is
		// what is archived even if the original changes meanwhile.
		f := File{Path: src.rel, Kind: KindFile}
		path := filepath.Join(absData, filepath.FromSlash(src.rel))
		copies[i] = filepath.Join(staging, fmt.Sprintf("f-%d", i))
		if src.sqlite {
			f.Kind = KindSQLite
			if err := snapshot(ctx, path, copies[i]); err != nil {
				return Manifest{}, err
			}
			if f.SchemaVersion, err = schemaVersion(ctx, copies[i]); err != nil {
				return Manifest{}, err
			}
		} else if err := copyFile(path, copies[i]); err != nil {
			return Manifest{}, err
		}
		if f.Size, f.SHA256, err = digest(copies[i]); err != nil {
			return Manifest{}, err
		}
		m.Files = append(m.Files, f)
	}
	if err := writeArchive(absOut, m, copies); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// source is a file of the data directory to archive.
type source struct {
	rel    string // slash-separated, relative to the data directory
	sqlite bool
}

// collect lists the regular files of dir, in path order, marking the SQLite databases. A
// database's -wal, -shm and -journal companions are left out: the online copy holds what they
// hold. Symbolic links and other non-regular files are left out.
func collect(dir string) ([]source, error) {
	var out []source
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if companion(path) {
			return nil
		}
		isDB, err := isSQLite(path)
		if err != nil {
			return err
		}
		out = append(out, source{rel: filepath.ToSlash(rel), sqlite: isDB})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) > maxFiles {
		return nil, fmt.Errorf("backup: the data directory holds %d files, more than the %d an archive may", len(out), maxFiles)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// companion reports whether path is a SQLite database's -wal, -shm or -journal file.
func companion(path string) bool {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if base, ok := strings.CutSuffix(path, suffix); ok {
			if isDB, _ := isSQLite(base); isDB {
				return true
			}
		}
	}
	return false
}

// isSQLite reports whether the file at path starts with SQLite's header.
func isSQLite(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		return false, nil // shorter than a header: not a database
	}
	return bytes.Equal(head, sqliteMagic), nil
}

// busyTimeoutMS is how long the copy waits for a lock the database's writer holds.
const busyTimeoutMS = 10_000

// openSQLite opens the database file at path with the given extra URI parameters.
func openSQLite(path, params string) (*sql.DB, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMS)
	if params != "" {
		dsn += "&" + params
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("backup: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// snapshot copies the database at src to the new file dst with VACUUM INTO: one read
// transaction, so the copy is a committed state of the database while its writer goes on (a
// database in WAL mode, as the store opens them, lets the writer commit during the read).
func snapshot(ctx context.Context, src, dst string) error {
	db, err := openSQLite(src, "")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup: copy %s: %w", src, err)
	}
	return nil
}

// schemaVersion reads the newest applied migration of the database file at path (goose's
// version table; 0 when it has none).
func schemaVersion(ctx context.Context, path string) (int64, error) {
	db, err := openSQLite(path, "mode=ro&immutable=1")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'").Scan(&n); err != nil {
		return 0, fmt.Errorf("backup: read %s: %w", path, err)
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT max(version_id) FROM goose_db_version WHERE is_applied").Scan(&v); err != nil {
		return 0, fmt.Errorf("backup: schema version of %s: %w", path, err)
	}
	return v.Int64, nil
}

// integrity runs SQLite's integrity check on the database file at path.
func integrity(ctx context.Context, path string) error {
	db, err := openSQLite(path, "mode=ro&immutable=1")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// digest returns the size and hex SHA-256 of the file at path.
func digest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("backup: read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeArchive writes the manifest and then each file (its bytes read from copies[i]) to a
// temporary file beside out, syncs it and renames it to out.
func writeArchive(out string, m Manifest, copies []string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	zw := gzip.NewWriter(tmp)
	tw := tar.NewWriter(zw)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	hdr := &tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for i, f := range m.Files {
		if err := appendFile(tw, "data/"+f.Path, copies[i], f.Size, m.CreatedAt); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return syncDir(filepath.Dir(out))
}

// copyFile copies the regular file src to the new file dst (mode 0600).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("backup: copy %s: %w", src, err)
	}
	return out.Close()
}

// appendFile writes the file at path as the archive entry name; it must be size bytes long.
func appendFile(tw *tar.Writer, name, path string, size int64, mtime time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if n, err := io.Copy(tw, io.LimitReader(f, size)); err != nil || n != size {
		return fmt.Errorf("backup: archive %s: wrote %d of %d bytes: %v", path, n, size, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("backup: sync %s: %w", dir, err)
	}
	return nil
}
