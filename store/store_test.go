package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func TestOpen_RejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "sqlite://", "postgres://%zz"} {
		if _, err := store.Open(context.Background(), dsn); err == nil {
			t.Errorf("Open(%q) succeeded, want error", dsn)
		}
	}
}

func TestUnreachable_TellsTheServerAwayFromAStatementFailing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1: a connect error.
	_, err := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=5")
	if err == nil || !store.Unreachable(fmt.Errorf("query: %w", err)) {
		t.Errorf("connect error %v: not unreachable", err)
	}
	for code, want := range map[string]bool{"57P01": true, "57P02": true, "57P03": true, "08006": true, "08001": true,
		"42P01": false, "23505": false, "40001": false} {
		if got := store.Unreachable(&pgconn.PgError{Code: code}); got != want {
			t.Errorf("SQLSTATE %s: unreachable %v, want %v", code, got, want)
		}
	}
	if store.Unreachable(nil) || store.Unreachable(errors.New("no rows")) || store.Unreachable(sql.ErrNoRows) {
		t.Error("a plain error is unreachable")
	}
}

func TestRedact_HidesPassword(t *testing.T) {
	got := store.Redact("postgres://u:secret@h:5432/db?sslmode=disable")
	if got != "postgres://u:xxxxx@h:5432/db?sslmode=disable" {
		t.Fatalf("Redact = %q", got)
	}
}

func TestMigrate_IsIdempotentAndReportsVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		res, err := db.Migrate(ctx)
		if err != nil || len(res) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", res, err)
		}
		cur, latest, err := db.SchemaVersion(ctx)
		if err != nil || cur != latest || cur < 1 {
			t.Fatalf("SchemaVersion = %d, %d, %v", cur, latest, err)
		}
	})
}

func TestTime_RoundTripsAndSortsOnBothDialects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		times := []time.Time{base.Add(500 * time.Millisecond), base, base.Add(123456 * time.Microsecond), base.Add(time.Second)}
		for i, tm := range times {
			_, err := db.Writer().ExecContext(ctx,
				`INSERT INTO signing_keys (id, algorithm, private_key, created_at) VALUES ($1, 'x', $2, $3)`,
				string(rune('a'+i)), []byte{1}, store.Time(tm))
			if err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.Reader().QueryContext(ctx, `SELECT created_at FROM signing_keys WHERE created_at > $1 ORDER BY created_at`, store.Time(base))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []time.Time
		for rows.Next() {
			var tm time.Time
			if err := rows.Scan(store.ScanTime(&tm)); err != nil {
				t.Fatal(err)
			}
			got = append(got, tm)
		}
		want := []time.Time{base.Add(123456 * time.Microsecond), base.Add(500 * time.Millisecond), base.Add(time.Second)}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Fatalf("row %d = %v, want %v", i, got[i], want[i])
			}
		}
		var nt *time.Time
		if err := db.Reader().QueryRowContext(ctx, `SELECT NULL`).Scan(store.ScanNullTime(&nt)); err != nil || nt != nil {
			t.Fatalf("NULL time = %v, %v", nt, err)
		}
	})
}

func TestInTx_RollsBackOnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, created_at) VALUES ('k', 'x', $1, $2)`, []byte{1}, store.Time(time.Now())); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		var n int
		if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM signing_keys`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after rollback = %d, %v", n, err)
		}
	})
}

func TestInTx_ConcurrentIncrementsAreNotLost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Writer().ExecContext(ctx, `CREATE TABLE counter (n INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().ExecContext(ctx, `INSERT INTO counter VALUES (0)`); err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 20
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					errs <- db.InSerializableTx(ctx, func(tx *sql.Tx) error {
						var n int
						if err := tx.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE counter SET n = $1`, n+1)
						return err
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if err != nil {
				failed++
			}
		}
		var n int
		if err := db.Reader().QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != workers*each-failed {
			t.Fatalf("counter = %d, want %d (%d failed)", n, workers*each-failed, failed)
		}
		if failed > workers*each/4 {
			t.Fatalf("%d of %d transactions failed after retries", failed, workers*each)
		}
	})
}

func TestIsUniqueViolation_OnBothDialects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ins := `INSERT INTO signing_keys (id, algorithm, private_key, created_at) VALUES ('dup', 'x', $1, $2)`
		if _, err := db.Writer().ExecContext(ctx, ins, []byte{1}, store.Time(time.Now())); err != nil {
			t.Fatal(err)
		}
		_, err := db.Writer().ExecContext(ctx, ins, []byte{1}, store.Time(time.Now()))
		if !store.IsUniqueViolation(err) {
			t.Fatalf("IsUniqueViolation(%v) = false", err)
		}
	})
}
