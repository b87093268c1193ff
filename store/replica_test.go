//go:build unix

package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/pgcluster"
)

// inRecovery asks the server behind q whether it is a standby.
func inRecovery(t *testing.T, q store.Querier) bool {
	t.Helper()
	var rec bool
	if err := q.QueryRowContext(context.Background(), "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestReplica_ServesReadsAndKeepsReadYourWrites(t *testing.T) {
	primary := pgcluster.New(t, nil)
	standby := primary.Standby()
	ctx := context.Background()
	db, err := store.Open(ctx, primary.DSN("postgres"), store.WithReplica(standby.DSN("postgres"), time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	if _, err := db.Write().ExecContext(ctx, "CREATE TABLE notes (id int PRIMARY KEY, body text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write().ExecContext(ctx, "INSERT INTO notes VALUES (1, 'written on the primary')"); err != nil {
		t.Fatal(err)
	}
	if !inRecovery(t, db.Replica(ctx)) {
		t.Fatal("Replica(ctx) did not go to the standby")
	}
	if inRecovery(t, db.Replica(store.ReadPrimary(ctx))) {
		t.Fatal("Replica(ReadPrimary(ctx)) went to the standby; a caller that just wrote must read the primary")
	}
	if inRecovery(t, db.Read()) {
		t.Fatal("Read() went to the standby")
	}
	// The write reaches the standby within the lag it is allowed.
	deadline := time.Now().Add(store.ReadYourWritesWindow(time.Second))
	for {
		var body string
		err := db.Replica(ctx).QueryRowContext(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&body)
		if err == nil && body == "written on the primary" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby had not replayed the write within the read-your-writes window: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := db.ReplicaStatus()
	if !st.Configured || !st.Healthy || st.Reads == 0 || st.MaxLag != time.Second {
		t.Fatalf("status = %+v", st)
	}

	// A standby that stops answering is bypassed: reads go to the primary.
	standby.Stop()
	deadline = time.Now().Add(5 * time.Second)
	for db.ReplicaStatus().Healthy {
		if time.Now().After(deadline) {
			t.Fatal("a stopped standby is still reported healthy")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var n int
	if err := db.Replica(ctx).QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil || n != 1 {
		t.Fatalf("read with the standby down: n=%d err=%v", n, err)
	}
	// It comes back once it answers again.
	standby.Start()
	deadline = time.Now().Add(10 * time.Second)
	for !db.ReplicaStatus().Healthy {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted standby was not used again: %+v\n%s", db.ReplicaStatus(), standby.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplica_RefusesAPrimaryOrSQLite(t *testing.T) {
	primary := pgcluster.New(t, nil)
	ctx := context.Background()
	_, err := store.Open(ctx, primary.DSN("postgres"), store.WithReplica(primary.DSN("postgres"), 0))
	if err == nil || !strings.Contains(err.Error(), "not a standby") {
		t.Fatalf("a primary given as the replica: err = %v, want 'not a standby'", err)
	}
	_, err = store.Open(ctx, "sqlite://"+t.TempDir()+"/x.db", store.WithReplica(primary.DSN("postgres"), 0))
	if err == nil || !strings.Contains(err.Error(), "needs a PostgreSQL store") {
		t.Fatalf("SQLite with a replica: err = %v", err)
	}
}
