package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotEmpty is returned by Restore when the target data directory holds files and
// Options.Force is not set.
var ErrNotEmpty = errors.New("backup: the target data directory is not empty")

// ErrInvalid wraps every reason an archive is refused: not this format, damaged, incomplete,
// or holding a database newer than this binary.
var ErrInvalid = errors.New("backup: invalid archive")

// Result says what Restore did.
type Result struct {
	Manifest Manifest
	// Previous is where the target's former contents were moved (Options.Force), or "".
	Previous string
}

// Restore restores the archive in to the data directory dataDir. It refuses a dataDir that is
// not empty unless o.Force is set. The archive is unpacked into a new directory beside
// dataDir and checked there — the manifest's format, every file present with its size and
// SHA-256, no file the manifest does not list, each database passing SQLite's integrity check
// and not newer than o.LatestSchema — and only then renamed to dataDir. With o.Force a former
// dataDir is renamed aside (Result.Previous), not deleted.
func Restore(ctx context.Context, in, dataDir string, o Options) (Result, error) {
	absData, err := filepath.Abs(dataDir)
	if err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	empty, err := emptyOrMissing(absData)
	if err != nil {
		return Result{}, err
	}
	if !empty && !o.Force {
		return Result{}, fmt.Errorf("%w: %s (restore into a new directory, or pass force to replace it; its contents are kept beside it)", ErrNotEmpty, dataDir)
	}
	parent := filepath.Dir(absData)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(absData)+".restore-*")
	if err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(staging)
		}
	}()
	m, err := unpack(ctx, in, staging, o)
	if err != nil {
		return Result{}, err
	}
	res := Result{Manifest: m}
	if fi, err := os.Stat(absData); err == nil && fi.IsDir() {
		if empty {
			if err := os.Remove(absData); err != nil {
				return Result{}, fmt.Errorf("backup: %w", err)
			}
		} else {
			res.Previous = absData + ".pre-restore-" + o.now().Format("20060102T150405Z")
			if err := os.Rename(absData, res.Previous); err != nil {
				return Result{}, fmt.Errorf("backup: move the former data directory aside: %w", err)
			}
		}
	} else if err == nil {
		return Result{}, fmt.Errorf("backup: %s exists and is not a directory", dataDir)
	}
	if err := os.Rename(staging, absData); err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	keep = true
	return res, syncDir(parent)
}

// Check reads the whole archive at in and checks it as Restore does, without restoring it; it
// unpacks into a temporary directory it removes.
func Check(ctx context.Context, in string, o Options) (Manifest, error) {
	dir, err := os.MkdirTemp("", "sovereign-backup-check-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(dir)
	return unpack(ctx, in, dir, o)
}

// emptyOrMissing reports whether dir does not exist or holds nothing.
func emptyOrMissing(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("backup: target: %w", err)
	}
	return len(entries) == 0, nil
}

// invalid wraps a reason the archive is refused in ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// unpack reads the archive at in into dir (which exists and is empty) and checks it.
func unpack(ctx context.Context, in, dir string, o Options) (Manifest, error) {
	f, err := os.Open(in)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Manifest{}, invalid("%s is not a gzip-compressed archive: %v", in, err)
	}
	tr := tar.NewReader(zr)
	m, err := readManifest(tr)
	if err != nil {
		return Manifest{}, err
	}
	if o.LatestSchema > 0 && m.SchemaVersion() > o.LatestSchema {
		return Manifest{}, invalid("its databases are at schema version %d, newer than this binary's %d: restore with the release that made it (%s) or a newer one",
			m.SchemaVersion(), o.LatestSchema, m.Build)
	}
	want := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		want["data/"+f.Path] = f
	}
	seen := make(map[string]bool, len(m.Files))
	for {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, invalid("damaged: %v", err)
		}
		mf, ok := want[hdr.Name]
		switch {
		case !ok:
			return Manifest{}, invalid("entry %q is not in the manifest", hdr.Name)
		case seen[hdr.Name]:
			return Manifest{}, invalid("entry %q appears twice", hdr.Name)
		case hdr.Typeflag != tar.TypeReg:
			return Manifest{}, invalid("entry %q is not a regular file", hdr.Name)
		case hdr.Size != mf.Size:
			return Manifest{}, invalid("entry %q is %d bytes, the manifest says %d", hdr.Name, hdr.Size, mf.Size)
		}
		seen[hdr.Name] = true
		dst := filepath.Join(dir, filepath.FromSlash(mf.Path))
		if err := extract(tr, dst, mf); err != nil {
			return Manifest{}, err
		}
		if mf.Kind == KindSQLite {
			if err := integrity(ctx, dst); err != nil {
				return Manifest{}, invalid("database %s: %v", mf.Path, err)
			}
		}
	}
	for _, f := range m.Files {
		if !seen["data/"+f.Path] {
			return Manifest{}, invalid("%s is in the manifest but not in the archive (truncated?)", f.Path)
		}
	}
	return m, nil
}

// readManifest reads and checks the archive's first entry.
func readManifest(tr *tar.Reader) (Manifest, error) {
	hdr, err := tr.Next()
	if err != nil {
		return Manifest{}, invalid("damaged or empty: %v", err)
	}
	if hdr.Name != ManifestName || hdr.Size > maxManifestBytes {
		return Manifest{}, invalid("it does not start with a %s of at most %d bytes: not a sovereign backup", ManifestName, maxManifestBytes)
	}
	b, err := io.ReadAll(io.LimitReader(tr, maxManifestBytes))
	if err != nil {
		return Manifest{}, invalid("manifest: %v", err)
	}
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, invalid("manifest: %v", err)
	}
	if m.Format != Format {
		return Manifest{}, invalid("format %q, want %q", m.Format, Format)
	}
	if m.Version != FormatVersion {
		return Manifest{}, invalid("format version %d; this binary reads version %d", m.Version, FormatVersion)
	}
	if len(m.Files) > maxFiles {
		return Manifest{}, invalid("%d files, more than %d", len(m.Files), maxFiles)
	}
	paths := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		switch {
		case !filepath.IsLocal(filepath.FromSlash(f.Path)) || strings.Contains(f.Path, `\`) || f.Path != filepath.ToSlash(filepath.Clean(filepath.FromSlash(f.Path))):
			return Manifest{}, invalid("file path %q is not a plain relative path", f.Path)
		case paths[f.Path]:
			return Manifest{}, invalid("file %q is listed twice", f.Path)
		case f.Kind != KindSQLite && f.Kind != KindFile:
			return Manifest{}, invalid("file %q has unknown kind %q", f.Path, f.Kind)
		case f.Size < 0 || f.Size > maxFileBytes:
			return Manifest{}, invalid("file %q has size %d", f.Path, f.Size)
		case len(f.SHA256) != sha256.Size*2:
			return Manifest{}, invalid("file %q has no SHA-256", f.Path)
		}
		paths[f.Path] = true
	}
	return m, nil
}

// extract writes the current entry of tr to the new file dst (mode 0600, directories 0700) and
// checks its SHA-256 against mf.
func extract(tr *tar.Reader, dst string, mf File) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(tr, mf.Size))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return invalid("%s: %v", mf.Path, err)
	}
	if n != mf.Size {
		return invalid("%s: %d of %d bytes", mf.Path, n, mf.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != mf.SHA256 {
		return invalid("%s: SHA-256 %s, the manifest says %s (damaged)", mf.Path, got, mf.SHA256)
	}
	return nil
}
