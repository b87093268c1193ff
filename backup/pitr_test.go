package backup_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// pgBinEnv names the directory of the PostgreSQL server binaries when they are not under
// /usr/lib/postgresql/VERSION/bin.
const pgBinEnv = "SOVEREIGN_PG_BIN"

// pgCluster runs PostgreSQL's server programs for a private cluster: as the postgres OS user
// when the test runs as root (initdb and postgres refuse root).
type pgCluster struct {
	t    *testing.T
	bin  string
	root string // the test's directory: data directories, WAL archive, sockets, logs
	cred *syscall.Credential
}

// newPGCluster finds the binaries (skipping the test without them) and makes the private
// directory the server programs may write.
func newPGCluster(t *testing.T) *pgCluster {
	bin := os.Getenv(pgBinEnv)
	if bin == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "pg_basebackup")); err == nil {
				bin = d
				break
			}
		}
	}
	for _, prog := range []string{"initdb", "pg_ctl", "pg_basebackup", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); bin == "" || err != nil {
			t.Skipf("point-in-time recovery test: PostgreSQL server binaries not found (under /usr/lib/postgresql/*/bin or $%s)", pgBinEnv)
		}
	}
	c := &pgCluster{t: t, bin: bin}
	root, err := os.MkdirTemp("", "sovereign-pitr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c.root = root
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("point-in-time recovery test: running as root and there is no postgres OS user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.mkdir("archive")
	return c
}

func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// path is a path under the cluster's directory.
func (c *pgCluster) path(name string) string { return filepath.Join(c.root, name) }

// run runs a PostgreSQL program as the cluster's user and fails the test when it fails.
func (c *pgCluster) run(prog string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	if prog == "sh" {
		cmd = exec.Command("sh", args...)
	}
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *pgCluster) mkdir(name string) {
	c.t.Helper()
	c.run("sh", "-c", "mkdir -m 700 "+c.path(name))
}

// appendConf adds lines to the postgresql.conf of the data directory dir.
func (c *pgCluster) appendConf(dir string, lines ...string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(c.path(dir), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + strings.Join(lines, "\n") + "\n"); err != nil {
		c.t.Fatal(err)
	}
}

// start starts the server of data directory dir and stops it when the test ends.
func (c *pgCluster) start(dir string) {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.path(dir), "-l", c.path(dir+".log"), "-w", "-t", "60", "start")
	c.t.Cleanup(func() { c.stop(dir) })
}

func (c *pgCluster) stop(dir string) {
	if _, err := os.Stat(filepath.Join(c.path(dir), "postmaster.pid")); err != nil {
		return
	}
	cmd := exec.Command(filepath.Join(c.bin, "pg_ctl"), "-D", c.path(dir), "-m", "fast", "-w", "stop")
	cmd.Dir = c.root
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	_ = cmd.Run()
}

// dsn is the store DSN of the server on port, through the unix socket in the cluster's directory.
func (c *pgCluster) dsn(port int) string {
	return fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", c.root, port)
}

// freePort returns a TCP port nothing listens on now (the socket file name carries it).
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPostgres_PointInTimeRecovery follows docs/OPERATIONS.md on a private
// cluster: WAL archiving on, a base backup, transfers, a named restore point, more transfers;
// then the base backup recovered from the archive up to the point — by the point's name, and
// by its time — holds a ledger that verifies and has exactly the transfers made before it.
func TestPostgres_PointInTimeRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("point-in-time recovery test: -short")
	}
	c := newPGCluster(t)
	ctx := context.Background()
	port := freePort(t)
	c.run("initdb", "-D", c.path("primary"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	common := []string{"listen_addresses = ''", "unix_socket_directories = '" + c.root + "'", "fsync = off", "max_connections = 40"}
	c.appendConf("primary", append(common,
		fmt.Sprintf("port = %d", port),
		"wal_level = replica",
		"archive_mode = on",
		fmt.Sprintf("archive_command = 'test ! -f %s/%%f && cp %%p %s/%%f'", c.path("archive"), c.path("archive")),
	)...)
	c.start("primary")

	db, err := store.Open(ctx, c.dsn(port))
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
	c.run("pg_basebackup", "-D", c.path("base"), "-h", c.root, "-p", strconv.Itoa(port), "-U", "postgres", "-X", "stream", "-c", "fast")
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
		if _, err := os.Stat(filepath.Join(c.path("archive"), segment)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL segment %s was not archived", segment)
		}
	}
	l.Close()
	db.Close()
	c.stop("primary")

	// Recover the base backup from the archive, once to the restore point's name and once to
	// the time noted between the two groups of transfers.
	parent := c.t
	defer func() { c.t = parent }()
	for i, target := range []string{"recovery_target_name = 'before-b'", "recovery_target_time = '" + pointTime + "'"} {
		t.Run(strings.Fields(target)[0], func(t *testing.T) {
			c.t = t
			rep := recoverTo(t, c, fmt.Sprintf("restored-%d", i), target, common)
			t.Logf("recovered with %s: %d events, %d transfers before the point, none of the %d after", target, rep.events, before, after)
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

// recoverTo copies the base backup to the data directory dir, recovers it from the WAL archive
// up to target (a recovery_target_… line), promotes it, verifies its ledger and lists its
// transfers.
func recoverTo(t *testing.T, c *pgCluster, dir, target string, common []string) recovered {
	ctx := context.Background()
	port := freePort(t)
	c.run("sh", "-c", fmt.Sprintf("cp -a %s %s && touch %s/recovery.signal", c.path("base"), c.path(dir), c.path(dir)))
	c.appendConf(dir, append(common,
		fmt.Sprintf("port = %d", port),
		"archive_mode = off",
		fmt.Sprintf("restore_command = 'cp %s/%%f %%p'", c.path("archive")),
		target,
		"recovery_target_action = 'promote'",
	)...)
	c.start(dir)
	db, err := store.Open(ctx, c.dsn(port))
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
			log, _ := os.ReadFile(c.path(dir + ".log"))
			t.Fatalf("the recovered cluster did not leave recovery:\n%s", log)
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
