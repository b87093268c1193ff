package store

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// MigrationResult is one migration that Migrate applied.
type MigrationResult struct {
	Version int64
	Name    string
}

// Migrate applies every migration of the database's dialect that has not been applied yet, in
// version order, each in its own transaction. On PostgreSQL a session advisory lock keeps
// replicas that start together from migrating at the same time.
func (db *DB) Migrate(ctx context.Context) ([]MigrationResult, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	out := make([]MigrationResult, 0, len(res))
	for _, r := range res {
		if r.Source != nil {
			out = append(out, MigrationResult{Version: r.Source.Version, Name: r.Source.Path})
		}
	}
	if err != nil {
		return out, fmt.Errorf("store: migrate: %w", err)
	}
	return out, nil
}

// MigrateTo applies the migrations up to and including version (tests of upgrades use it to
// build a database as an older release left it).
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("store: migrate to %d: %w", version, err)
	}
	return nil
}

// SchemaVersion returns the version of the newest applied migration and of the newest one this
// binary knows.
func (db *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	return current, latest, nil
}

func (db *DB) provider() (*goose.Provider, error) {
	dir := "migrations/" + string(db.dialect)
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if db.dialect == Postgres {
		dialect = goose.DialectPostgres
		// One lock per schema: replicas on one schema take turns, while separate schemas (tests)
		// migrate side by side. Waiters retry each second for up to five minutes.
		lockID := lock.DefaultLockID
		if db.schema != "" {
			h := fnv.New64a()
			h.Write([]byte(db.schema))
			lockID = int64(h.Sum64() >> 1)
		}
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.write, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}
