package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/backup"
	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store"
)

func newBackup(f *flags) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "backup --data DIR --out FILE",
		Short: "Archive the data directory while the stack runs: its SQLite databases copied online, and its keys",
		Long: `backup writes one gzip-compressed tar archive of the data directory to --out: every SQLite
database in it copied online (a consistent committed state; the stack keeps running and writing),
and every other file as it is (the builtin CA's keys, the admin key, TLS files). The archive
starts with MANIFEST.json (format, time, build, and each file's size, SHA-256 and schema
version). It is written to a temporary file and renamed, so --out is never a partial archive.
The archive holds secrets: keep it as private as the data directory. A PostgreSQL store is not
in it: back it up with pg_basebackup and WAL archiving (docs/OPERATIONS.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("backup: --out FILE is required, e.g. --out sovereign-backup.tar.gz")
			}
			w := cmd.OutOrStdout()
			if note := storeOutsideData(cfg); note != "" {
				fmt.Fprintln(w, note)
			}
			m, err := backup.Create(cmd.Context(), cfg.Data, out, backup.Options{Build: buildinfo.String()})
			if err != nil {
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "backup: wrote %s (%d bytes): %s, at %s\n", out, fi.Size(), contents(m), m.CreatedAt.Format("2006-01-02T15:04:05Z"))
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "file to write the archive to (replaced atomically when it exists)")
	return c
}

// storeOutsideData says, when the configured store is not a SQLite file in the data
// directory, that the archive will not hold it and what to do instead ("" when it will).
func storeOutsideData(cfg config.Config) string {
	if !strings.HasPrefix(cfg.Store, "sqlite://") {
		return "backup: note: the store " + store.Redact(cfg.Store) + " is not in the archive; back PostgreSQL up with pg_basebackup and WAL archiving (docs/OPERATIONS.md)"
	}
	path := strings.TrimPrefix(cfg.Store, "sqlite://")
	data, err1 := filepath.Abs(cfg.Data)
	db, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return ""
	}
	if rel, err := filepath.Rel(data, db); err != nil || !filepath.IsLocal(rel) {
		return "backup: note: the store " + path + " is outside the data directory and not in the archive; back it up with --data set to its directory"
	}
	return ""
}

func newRestore(f *flags) *cobra.Command {
	var in string
	var force, check bool
	c := &cobra.Command{
		Use:   "restore --in FILE --data DIR",
		Short: "Restore a data directory from an archive of sovereign backup, checking it first",
		Long: `restore unpacks the archive --in beside the data directory and checks all of it — the
manifest, every file's size and SHA-256, each database's integrity and schema version (not newer
than this binary) — before it becomes the data directory. It refuses a data directory that is not
empty unless --force, which renames the former one aside (DIR.pre-restore-TIME) instead of
deleting it. Stop the stack before restoring; afterwards run sovereign teg verify --data DIR.
With --check it only reads and checks the archive (a nightly backup's, say) and restores nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if in == "" {
				return errors.New("restore: --in FILE is required (an archive written by sovereign backup)")
			}
			latest, err := latestSchema(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if check {
				m, err := backup.Check(cmd.Context(), in, backup.Options{LatestSchema: latest})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "restore --check: %s is sound: %s, backed up at %s by %s\n",
					in, contents(m), m.CreatedAt.Format("2006-01-02T15:04:05Z"), m.Build)
				return nil
			}
			res, err := backup.Restore(cmd.Context(), in, cfg.Data, backup.Options{LatestSchema: latest, Force: force})
			if errors.Is(err, backup.ErrNotEmpty) {
				return fmt.Errorf("restore: %s is not empty: restore into a new directory, or pass --force to replace it (its contents are kept beside it)", cfg.Data)
			}
			if err != nil {
				return err
			}
			m := res.Manifest
			fmt.Fprintf(w, "restore: %s restored to %s: %s, backed up at %s by %s\n",
				in, cfg.Data, contents(m), m.CreatedAt.Format("2006-01-02T15:04:05Z"), m.Build)
			if res.Previous != "" {
				fmt.Fprintf(w, "restore: the former data directory is at %s\n", res.Previous)
			}
			fmt.Fprintf(w, "next: sovereign teg verify --data %s\n", cfg.Data)
			return nil
		},
	}
	c.Flags().StringVar(&in, "in", "", "archive to restore (written by sovereign backup)")
	c.Flags().BoolVar(&force, "force", false, "replace a data directory that is not empty (kept beside it, renamed)")
	c.Flags().BoolVar(&check, "check", false, "only check the archive (every file's checksum, the databases' integrity and schema); restore nothing")
	return c
}

// contents says what an archive holds: "5 files (1 SQLite database, schema version 23)".
func contents(m backup.Manifest) string {
	files, dbs := "files", "databases"
	if len(m.Files) == 1 {
		files = "file"
	}
	if m.Databases() == 1 {
		dbs = "database"
	}
	return fmt.Sprintf("%d %s (%d SQLite %s, schema version %d)", len(m.Files), files, m.Databases(), dbs, m.SchemaVersion())
}

// latestSchema is the newest SQLite schema version this binary knows.
func latestSchema(ctx context.Context) (int64, error) {
	db, err := store.Open(ctx, "sqlite://:memory:")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	_, latest, err := db.SchemaVersion(ctx)
	return latest, err
}
