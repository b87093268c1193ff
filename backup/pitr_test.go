//go:build unix

package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/pgcluster"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// TestPostgres_PointInTimeRecovery follows docs/OPERATIONS.md on a private cluster: WAL
// archiving on, a base backup, transfers, a named restore point, more transfers; then the base
// backup recovered from the archive up to the point — by the point's name, and by its time —
// holds a ledger that verifies and has exactly the transfers made before it.
func TestPostgres_PointInTimeRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("point-in-time recovery test: -short")
	}
	c := pgcluster.Init(t, map[string]string{"archive_mode": "on", "max_connections": "40"})
	archive := c.Dir("archive")
	c.Set(map[string]string{"archive_command": fmt.Sprintf("'test ! -f %s/%%f && cp %%p %s/%%f'", archive, archive)})
	c.Start()
	ctx := context.Background()
	db, err := store.Open(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	ids := fund(t, l, 4)
	transfer := func(id string, i int) {
		t.Helper()
		if _, _, err := l.Do(ctx, teg.Command{Kind: teg.KindTransfer, ID: id, From: ids[i%4], To: ids[(i+1)%4], Amount: avt.AVT(1)}); err != nil {
			t.Fatal(err)
		}
	}
	base := c.BaseBackup()
	const before, after = 30, 20
	for i := range before {
		transfer(fmt.Sprintf("before-%d", i), i)
	}
	pg := db.Writer()
	if _, err := pg.ExecContext(ctx, "SELECT pg_create_restore_point('before-b')"); err != nil {
		t.Fatal(err)
	}
	// The time of the point: after the last commit before it, before the first after it.
	var pointTime string
	time.Sleep(20 * time.Millisecond)
	if err := pg.QueryRowContext(ctx, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'").Scan(&pointTime); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	for i := range after {
		transfer(fmt.Sprintf("after-%d", i), i)
	}
	// Close the segment holding the restore point and wait until the archive has it.
	var segment string
	if err := pg.QueryRowContext(ctx, "SELECT pg_walfile_name(pg_current_wal_lsn())").Scan(&segment); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.ExecContext(ctx, "SELECT pg_switch_wal()"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(archive, segment)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL segment %s was not archived", segment)
		}
	}
	l.Close()
	db.Close()
	c.Stop()

	// Recover the base backup from the archive, once to the restore point's name and once to
	// the time noted between the two groups of transfers.
	for _, target := range [][2]string{{"recovery_target_name", "'before-b'"}, {"recovery_target_time", "'" + pointTime + "'"}} {
		t.Run(target[0], func(t *testing.T) {
			rep := recoverTo(t, base, archive, target[0], target[1])
			t.Logf("recovered with %s = %s: %d events, %d transfers before the point, none of the %d after", target[0], target[1], rep.events, before, after)
			for i := range before {
				if !rep.has[fmt.Sprintf("before-%d", i)] {
					t.Fatalf("before-%d is missing after recovery to the point", i)
				}
			}
			for i := range after {
				if rep.has[fmt.Sprintf("after-%d", i)] {
					t.Fatalf("after-%d, made after the point, is in the recovered ledger", i)
				}
			}
		})
	}
}

// recovered is what a recovered cluster's ledger holds.
type recovered struct {
	events uint64
	has    map[string]bool // transfer ids
}

// recoverTo starts a cluster from a copy of the base backup, recovers it from the WAL archive
// up to the target (a recovery_target_… setting), promotes it, verifies its ledger and lists
// its transfers.
func recoverTo(t *testing.T, base, archive, setting, value string) recovered {
	ctx := context.Background()
	r := pgcluster.Restore(t, base, map[string]string{
		"restore_command":        fmt.Sprintf("'cp %s/%%f %%p'", archive),
		setting:                  value,
		"recovery_target_action": "'promote'",
	})
	db, err := store.Open(ctx, r.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var inRecovery bool
		if err := db.Writer().QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err == nil && !inRecovery {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recovered cluster did not leave recovery:\n%s", r.Log())
		}
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	defer l.Close()
	rep, err := l.Verify(ctx)
	if err != nil {
		t.Fatalf("teg verify on the recovered cluster: %v", err)
	}
	out := recovered{events: rep.Events, has: map[string]bool{}}
	for _, prefix := range []string{"before-", "after-"} {
		for i := range 100 {
			id := fmt.Sprintf("%s%d", prefix, i)
			if _, ok, err := l.Transfer(ctx, id); err != nil {
				t.Fatal(err)
			} else if ok {
				out.has[id] = true
			}
		}
	}
	return out
}
