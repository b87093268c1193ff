package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// Migrations are forward-only and every release's database upgrades: for each schema version a
// release may have left, a database migrated to that version is given a row in every table it
// can take one (values by column type, parents before children), then migrated to the newest
// version — which must succeed (a column added NOT NULL without a default, or a constraint the
// old rows break, fails here) and keep every row.
func TestMigrations_UpgradeFromEveryEarlierVersionWithData(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		upgradeFromEveryVersion(t, func(t *testing.T) *store.DB {
			db, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "up.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.EnvPostgres) == "" {
			t.Skip(storetest.EnvPostgres + " not set: skipping PostgreSQL half of the upgrade test")
		}
		upgradeFromEveryVersion(t, func(t *testing.T) *store.DB { return storetest.PostgresEmpty(t) })
	})
}

func upgradeFromEveryVersion(t *testing.T, open func(t *testing.T) *store.DB) {
	ctx := context.Background()
	probe := open(t)
	_, latest, err := probe.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	versions := migrationVersions(t, probe)
	for _, v := range versions {
		if v == latest {
			continue
		}
		t.Run(fmt.Sprintf("from_%05d", v), func(t *testing.T) {
			db := open(t)
			if err := db.MigrateTo(ctx, v); err != nil {
				t.Fatal(err)
			}
			seeded := seedEveryTable(t, db)
			t.Logf("schema %d: a row in %d tables: %v", v, len(seeded), seeded)
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("upgrade from %d with a row in %d tables: %v", v, len(seeded), err)
			}
			if cur, _, _ := db.SchemaVersion(ctx); cur != latest {
				t.Fatalf("after the upgrade the schema is at %d, want %d", cur, latest)
			}
			after := tableColumns(t, db)
			for _, table := range seeded {
				// A table a migration replaced keeps its rows under the _v1 name until the code
				// that owns it rewrites them (the ledger's log, migration 00007).
				if _, ok := after[table+"_v1"]; ok {
					table += "_v1"
				}
				var n int
				if err := db.Writer().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n == 0 {
					t.Errorf("table %s lost its row in the upgrade from %d (n=%d, %v)", table, v, n, err)
				}
			}
		})
	}
}

// migrationVersions lists the versions of the dialect's migrations, oldest first.
func migrationVersions(t *testing.T, db *store.DB) []int64 {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("migrations", string(db.Dialect())))
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%05d_", &v); err == nil {
			out = append(out, v)
		}
	}
	return out
}

type column struct {
	name, typ string
	required  bool // NOT NULL without a default
}

// seedEveryTable inserts one row into every table that takes one with values chosen by column
// type, retrying the tables refused (a parent row missing) until no more succeed, and returns
// the tables seeded.
func seedEveryTable(t *testing.T, db *store.DB) []string {
	t.Helper()
	ctx := context.Background()
	tables := tableColumns(t, db)
	var seeded []string
	pending := make([]string, 0, len(tables))
	for name := range tables {
		pending = append(pending, name)
	}
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var left []string
		for _, name := range pending {
			cols := tables[name]
			names := make([]string, len(cols))
			holders := make([]string, len(cols))
			args := make([]any, len(cols))
			for i, c := range cols {
				names[i], holders[i], args[i] = c.name, fmt.Sprintf("$%d", i+1), sampleValue(c.typ)
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", name, strings.Join(names, ", "), strings.Join(holders, ", "))
			if len(cols) == 0 {
				q = "INSERT INTO " + name + " DEFAULT VALUES"
			}
			if _, err := db.Writer().ExecContext(ctx, q, args...); err != nil {
				left = append(left, name)
				continue
			}
			seeded = append(seeded, name)
			progress = true
		}
		pending = left
	}
	if len(seeded) < len(tables)/2 {
		t.Fatalf("only %d of %d tables took a sample row (%v refused)", len(seeded), len(tables), pending)
	}
	return seeded
}

// sampleValue is a value of a column's declared type.
func sampleValue(typ string) any {
	typ = strings.ToLower(typ)
	switch {
	case strings.Contains(typ, "bool"):
		return true
	case strings.Contains(typ, "int"), strings.Contains(typ, "numeric"), strings.Contains(typ, "real"),
		strings.Contains(typ, "double"), strings.Contains(typ, "decimal"):
		return 1
	case strings.Contains(typ, "bytea"), strings.Contains(typ, "blob"):
		return []byte{1}
	case strings.Contains(typ, "json"):
		return "{}"
	case strings.Contains(typ, "timestamp"):
		return "2026-01-01T00:00:00Z"
	default:
		return "1"
	}
}

// tableColumns maps each application table to its columns (goose's own table left out).
func tableColumns(t *testing.T, db *store.DB) map[string][]column {
	t.Helper()
	ctx := context.Background()
	out := map[string][]column{}
	var rows *sql.Rows
	var err error
	if db.Dialect() == store.SQLite {
		rows, err = db.Writer().QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull" AND p.dflt_value IS NULL AND NOT (p.pk = 1 AND lower(p.type) = 'integer')
			FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != 'goose_db_version' ORDER BY m.name, p.cid`)
	} else {
		rows, err = db.Writer().QueryContext(ctx, `SELECT c.table_name, c.column_name, c.data_type,
			c.is_nullable = 'NO' AND c.column_default IS NULL AND c.is_identity = 'NO' AND c.is_generated = 'NEVER'
			FROM information_schema.columns c JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND tb.table_type = 'BASE TABLE' AND c.table_name != 'goose_db_version'
			ORDER BY c.table_name, c.ordinal_position`)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var c column
		if err := rows.Scan(&table, &c.name, &c.typ, &c.required); err != nil {
			t.Fatal(err)
		}
		if _, ok := out[table]; !ok {
			out[table] = nil
		}
		if c.required {
			out[table] = append(out[table], c)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
