package avt_test

import (
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// envPostgres enables the PostgreSQL tests (the project-wide switch, see store/storetest).
const envPostgres = "SOVEREIGN_TEST_POSTGRES"

// storedAmounts are stored and read back in the database tests, in ascending order.
var storedAmounts = []avt.Amount{
	{}, avt.FromUnits(1), avt.FromUnits(9), avt.FromUnits(10), avt.MustParse("0.001"), avt.AVT(1),
	avt.AVT(10), avt.FromUnits(math.MaxUint64), avt.MustParse("18.446744073709551616"), avt.MustParse("100.5"), avt.AVT(1_000_000), avt.AVT(math.MaxUint64), avt.Max,
}

func TestValueScan_RoundTripsThroughDriverValues(t *testing.T) {
	for _, a := range storedAmounts {
		v, err := a.Value()
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range []any{v, []byte(v.(string))} {
			var back avt.Amount
			if err := back.Scan(src); err != nil || back != a {
				t.Errorf("Scan(%T %v) = %v, %v; want %v", src, src, back, err, a)
			}
		}
	}
	var back avt.Amount
	if err := back.Scan(int64(42)); err != nil || back != avt.FromUnits(42) {
		t.Errorf("Scan(int64 42) = %v, %v", back, err)
	}
}

func TestScan_RejectsNullNegativeFloatsAndGarbageAsInternal(t *testing.T) {
	for _, src := range []any{nil, int64(-1), 1.5, float64(1), true, "1.5", []byte("abc"), "-3", "340282366920938463463374607431768211456"} {
		a := avt.AVT(3)
		err := a.Scan(src)
		if apperr.KindOf(err) != apperr.Internal || err == nil {
			t.Errorf("Scan(%T %v) = %v, want an internal error", src, src, err)
		}
		if a != avt.AVT(3) {
			t.Errorf("Scan(%v) changed the amount on error", src)
		}
	}
}

func TestSQLite_TextColumnStoresExactlyAndSortsByValue(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "amounts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	roundTrip(t, db, `CREATE TABLE amounts (id INTEGER PRIMARY KEY, amount TEXT NOT NULL CHECK (length(amount) = 39))`, "?")
}

func TestPostgres_NumericColumnStoresExactlyAndSortsByValue(t *testing.T) {
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skip(envPostgres + " not set: skipping PostgreSQL amount round trip")
	}
	const ddl = `CREATE TEMP TABLE amounts (id INTEGER PRIMARY KEY, amount NUMERIC(78,0) NOT NULL CHECK (amount >= 0))`

	t.Run("database/sql", func(t *testing.T) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1) // a TEMP table lives on one connection
		roundTrip(t, db, ddl, "$")
	})

	t.Run("pgx", func(t *testing.T) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
		for i, a := range storedAmounts {
			if _, err := conn.Exec(ctx, `INSERT INTO amounts (id, amount) VALUES ($1, $2)`, len(storedAmounts)-i, a); err != nil {
				t.Fatalf("insert %v: %v", a, err)
			}
		}
		rows, err := conn.Query(ctx, `SELECT amount FROM amounts ORDER BY amount`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[avt.Amount])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, storedAmounts) {
			t.Fatalf("read back %v, want %v", got, storedAmounts)
		}
		var sum avt.Amount
		if err := conn.QueryRow(ctx, `SELECT sum(amount) FROM amounts WHERE amount < $1`, avt.Max).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		want := avt.Amount{}
		for _, a := range storedAmounts[:len(storedAmounts)-1] {
			want, _ = want.Add(a)
		}
		if sum != want {
			t.Fatalf("sum = %v, want %v", sum, want)
		}
	})
}

// roundTrip stores storedAmounts in reverse order in a table made by ddl, then checks they read
// back exactly, sort by value in SQL, and compare by value against a bound parameter.
func roundTrip(t *testing.T, db *sql.DB, ddl, placeholder string) {
	t.Helper()
	p := func(n string) string {
		if placeholder == "?" {
			return "?"
		}
		return "$" + n
	}
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	for i, a := range storedAmounts {
		if _, err := db.Exec(`INSERT INTO amounts (id, amount) VALUES (`+p("1")+`, `+p("2")+`)`, len(storedAmounts)-i, a); err != nil {
			t.Fatalf("insert %v: %v", a, err)
		}
	}
	rows, err := db.Query(`SELECT amount FROM amounts ORDER BY amount`)
	if err != nil {
		t.Fatal(err)
	}
	var got []avt.Amount
	for rows.Next() {
		var a avt.Amount
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, storedAmounts) {
		t.Fatalf("read back %v, want %v", got, storedAmounts)
	}
	bound := avt.MustParse("18.446744073709551616")
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM amounts WHERE amount < `+p("1"), bound).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := slices.Index(storedAmounts, bound); n != want {
		t.Fatalf("count(amount < %v) = %d, want %d", bound, n, want)
	}
	var null sql.Null[avt.Amount]
	if err := db.QueryRow(`SELECT amount FROM amounts WHERE id = `+p("1"), 1).Scan(&null); err != nil || !null.Valid || null.V != avt.Max {
		t.Fatalf("sql.Null scan = %+v, %v", null, err)
	}
}
