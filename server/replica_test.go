//go:build unix

package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/pgcluster"
)

// keyNames lists the names of the caller's API keys.
func keyNames(t *testing.T, s *stack, tok string) map[string]bool {
	t.Helper()
	r := s.do("GET", "/api/v1/developers/me/api-keys", nil, bearer(tok)).want(t, 200, "")
	out := map[string]bool{}
	for _, it := range r.Body["items"].([]any) {
		out[it.(map[string]any)["name"].(string)] = true
	}
	return out
}

// developerIDs lists every developer's id as the admin sees them.
func developerIDs(t *testing.T, s *stack) map[string]bool {
	t.Helper()
	r := s.do("GET", "/api/v1/developers?limit=500", nil, bearer(s.adminKey)).want(t, 200, "")
	out := map[string]bool{}
	for _, it := range r.Body["items"].([]any) {
		out[it.(map[string]any)["id"].(string)] = true
	}
	return out
}

// With a read replica whose replay is paused, a caller who has just written still reads what
// it wrote (its reads go to the primary); another caller reads the standby, stale but within
// the lag allowed, until the standby falls too far behind and is bypassed.
func TestReplica_ReadYourWritesAndBoundedStaleness(t *testing.T) {
	primary := pgcluster.New(t, nil)
	standby := primary.Standby()
	ctx := context.Background()
	const maxLag = 1500 * time.Millisecond
	db, err := store.Open(ctx, primary.DSN("postgres"), store.WithReplica(standby.DSN("postgres"), maxLag))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := newStack(t, db)
	ready := s.do("GET", "/readyz", nil).want(t, 200, "")
	if got := ready.Body["checks"].(map[string]any)["store_replica"]; got != "ok" {
		t.Fatalf("readyz store_replica = %v", got)
	}
	names := map[string]bool{}
	for _, n := range s.server.MetricNames() {
		names[n] = true
	}
	for _, n := range []string{"sovereign_db_replica_lag_seconds", "sovereign_db_replica_healthy", "sovereign_db_replica_fallbacks_total"} {
		if !names[n] {
			t.Errorf("metric %s is not exported with a replica", n)
		}
	}

	// Everything so far has reached the standby; the admin's list is served by it.
	dev := s.register("replica@example.com", true)
	waitFor(t, 10*time.Second, func() bool { return developerIDs(t, s)[dev.ID] })
	before := db.ReplicaStatus().Reads
	developerIDs(t, s)
	if db.ReplicaStatus().Reads == before {
		t.Fatal("the admin's developer list did not go to the standby")
	}

	// Pause the standby's replay: it stops seeing new writes.
	if _, err := sqlExec(ctx, standby.DSN("postgres"), "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "fresh-key", "scopes": []string{"read"}}, bearer(dev.Access)).want(t, 201, "")
	if !keyNames(t, s, dev.Access)["fresh-key"] {
		t.Fatal("the developer who created a key does not see it: read-your-writes broken")
	}
	other := s.register("other@example.com", true)
	// The admin did not write: its list comes from the paused standby while it is within the
	// lag allowed (the new developer is missing), then from the primary once it is not.
	if st := db.ReplicaStatus(); st.Healthy && st.Lag < maxLag/2 {
		if developerIDs(t, s)[other.ID] {
			t.Fatal("the admin's list saw a developer the paused standby cannot hold: it was not served by the standby")
		}
	} else {
		t.Logf("the standby was near its lag bound already (%+v); the staleness half is not shown", st)
	}
	waitFor(t, maxLag+5*time.Second, func() bool { return !db.ReplicaStatus().Healthy })
	if !developerIDs(t, s)[other.ID] {
		t.Fatal("with the standby too far behind, the admin still reads stale data")
	}
	ready = s.do("GET", "/readyz", nil).want(t, 200, "")
	if got, _ := ready.Body["checks"].(map[string]any)["store_replica"].(string); got == "ok" || got == "" {
		t.Fatalf("readyz store_replica = %q, want the bypass reported", got)
	}
	// Resumed, it catches up and serves reads again.
	if _, err := sqlExec(ctx, standby.DSN("postgres"), "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return db.ReplicaStatus().Healthy })
}

func sqlExec(ctx context.Context, dsn, q string) (int64, error) {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	res, err := db.Writer().ExecContext(ctx, q)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
