// Package storetest runs a test against every store the project supports: SQLite always, and
// PostgreSQL when SOVEREIGN_TEST_POSTGRES names a server (each test gets its own schema, dropped
// afterwards).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/sovereign-stack/sovereign/store"
)

// EnvPostgres is the environment variable that enables the PostgreSQL half of store tests.
const EnvPostgres = "SOVEREIGN_TEST_POSTGRES"

// Each runs fn as a subtest named "sqlite" with a fresh migrated SQLite database, and as
// "postgres" with a fresh migrated schema when EnvPostgres is set (skipped with a reason when not).
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a fresh, migrated SQLite database in a temporary directory, closed on cleanup.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return open(t, "sqlite://"+filepath.Join(t.TempDir(), "test.db"))
}

// Postgres returns a fresh, migrated database in a new PostgreSQL schema, dropped on cleanup; it
// skips the test when EnvPostgres is not set.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db := PostgresEmpty(t)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// PostgresEmpty is Postgres without the migrations (for tests of upgrades, which migrate to a
// version of their own).
func PostgresEmpty(t testing.TB) *store.DB {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		t.Skip(EnvPostgres + " not set: skipping PostgreSQL half of the store test")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	// Registered first, so it runs last: after whatever closed the test's own handle (a server
	// under test closes the store it was given), drop the schema through a connection of its own.
	t.Cleanup(func() {
		admin, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Writer().ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	return openEmpty(t, dsn, store.WithSchema(schema))
}

func open(t testing.TB, dsn string, opts ...store.Option) *store.DB {
	t.Helper()
	db := openEmpty(t, dsn, opts...)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func openEmpty(t testing.TB, dsn string, opts ...store.Option) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(dsn), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
