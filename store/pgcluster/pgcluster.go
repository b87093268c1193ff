//go:build unix

// Package pgcluster starts private PostgreSQL servers for tests that need more than the shared
// test database: a primary with a streaming hot standby, WAL archiving, a restore to a point in
// time. It drives the real PostgreSQL binaries (initdb, pg_ctl, pg_basebackup) found on the
// machine; Find reports when they are absent so that tests can skip.
//
// PostgreSQL refuses to run as root, so when the test runs as root each command runs as the
// "postgres" system user and the cluster's directory belongs to it.
package pgcluster

import (
	"bytes"
	"errors"
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
	"time"
)

// TB is the part of testing.TB a Cluster uses: *testing.T and *testing.B satisfy it, and a
// program that runs a private cluster outside a test (the soak command) supplies its own —
// Fatal must not return (panic, or runtime.Goexit), Cleanup runs its functions when the
// program's run ends.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
}

// Find returns the directory of the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup):
// $SOVEREIGN_PG_BIN, the newest /usr/lib/postgresql/*/bin, or the directory of initdb on PATH.
func Find() (string, error) {
	if dir := os.Getenv("SOVEREIGN_PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql or set SOVEREIGN_PG_BIN")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Cluster is one private PostgreSQL server: its data directory and the port it listens on
// (127.0.0.1 only, trust authentication for the "postgres" role).
type Cluster struct {
	t    TB
	bin  string
	root string // owned by the server's user; holds data/, the socket and the log
	Port int
	// Data is the data directory.
	Data string
}

// Require returns the binaries' directory or skips t with a one-line reason.
func Require(t TB) string {
	t.Helper()
	bin, err := Find()
	if err != nil {
		t.Skip(err.Error())
	}
	return bin
}

// New initialises a cluster (initdb) with the extra postgresql.conf settings given, starts it,
// and stops it and removes its files when t ends.
func New(t TB, settings map[string]string) *Cluster {
	t.Helper()
	c := Init(t, settings)
	c.Start()
	return c
}

// Init is New without starting the server, for settings that need a directory of the
// cluster's (Dir) or a restart: call Set, then Start.
func Init(t TB, settings map[string]string) *Cluster {
	t.Helper()
	c := newDir(t)
	c.run("initdb", "-D", c.Data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	conf := map[string]string{"wal_level": "replica", "max_wal_senders": "5", "fsync": "off",
		"hot_standby": "on", "wal_keep_size": "'64MB'"}
	for k, v := range settings {
		conf[k] = v
	}
	c.appendConf(conf)
	c.appendFile("pg_hba.conf", "host replication all 127.0.0.1/32 trust\n")
	return c
}

// Set appends postgresql.conf settings (values as PostgreSQL reads them: strings quoted); the
// server reads them at its next Start.
func (c *Cluster) Set(settings map[string]string) {
	c.t.Helper()
	c.appendConf(settings)
}

func newDir(t TB) *Cluster {
	t.Helper()
	bin := Require(t)
	root, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: bin, root: root, Data: filepath.Join(root, "data"), Port: freePort(t)}
	c.chown(root)
	t.Cleanup(func() {
		c.Stop()
		os.RemoveAll(root)
	})
	return c
}

// Standby makes a streaming hot standby of c (pg_basebackup -R), starts it and returns it.
func (c *Cluster) Standby() *Cluster {
	c.t.Helper()
	s := newDir(c.t)
	c.baseBackup(s, s.Data, "-R")
	s.appendConf(map[string]string{"port": strconv.Itoa(s.Port), "unix_socket_directories": "'" + s.root + "'"})
	s.Start()
	return s
}

// BaseBackup takes a base backup of c (pg_basebackup, WAL streamed in) into a new directory of
// c's and returns its path.
func (c *Cluster) BaseBackup() string {
	c.t.Helper()
	dir := filepath.Join(c.root, fmt.Sprintf("base-%d", time.Now().UnixNano()))
	c.baseBackup(c, dir)
	return dir
}

func (c *Cluster) baseBackup(logTo *Cluster, dir string, extra ...string) {
	c.t.Helper()
	args := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres",
		"-D", dir, "-X", "stream", "-c", "fast", "--no-sync"}, extra...)
	c.run2(logTo, "pg_basebackup", args...)
}

// Restore starts a new cluster from a copy of the base backup in dir, in recovery
// (recovery.signal) with the postgresql.conf settings given — restore_command,
// recovery_target_name or _time, recovery_target_action — and returns it. It does not wait for
// recovery to end: poll pg_is_in_recovery().
func Restore(t TB, backup string, settings map[string]string) *Cluster {
	t.Helper()
	r := newDir(t)
	r.run("sh", "-c", fmt.Sprintf("cp -a %s %s && touch %s/recovery.signal", backup, r.Data, r.Data))
	conf := map[string]string{"port": strconv.Itoa(r.Port), "unix_socket_directories": "'" + r.root + "'", "archive_mode": "off"}
	for k, v := range settings {
		conf[k] = v
	}
	r.appendConf(conf)
	r.Start()
	return r
}

// Dir makes a directory named name in the cluster's own directory, writable by the server (for
// a WAL archive), and returns its path.
func (c *Cluster) Dir(name string) string {
	c.t.Helper()
	p := filepath.Join(c.root, name)
	c.run("sh", "-c", "mkdir -p -m 700 "+p)
	return p
}

// DSN is the pgx connection string of database db on the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	c.run("pg_ctl", "-D", c.Data, "-l", filepath.Join(c.root, "log"), "-w", "-t", "60", "start")
}

// Stop stops the server (fast shutdown); stopping a stopped server does nothing.
func (c *Cluster) Stop() {
	if _, err := os.Stat(filepath.Join(c.Data, "postmaster.pid")); err != nil {
		return
	}
	_, _ = c.exec(c.bin+"/pg_ctl", "-D", c.Data, "-m", "fast", "-w", "stop")
}

// Log returns the server's log, for failure messages.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.root, "log"))
	return string(b)
}

func (c *Cluster) appendConf(conf map[string]string) {
	c.t.Helper()
	if _, ok := conf["port"]; !ok {
		conf["port"] = strconv.Itoa(c.Port)
	}
	if _, ok := conf["unix_socket_directories"]; !ok {
		conf["unix_socket_directories"] = "'" + c.root + "'"
	}
	conf["listen_addresses"] = "'127.0.0.1'"
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, conf[k])
	}
	c.appendFile("postgresql.conf", b.String())
}

func (c *Cluster) appendFile(name, text string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(c.Data, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		c.t.Fatal(err)
	}
}

// run runs a PostgreSQL binary as the server's user and fails the test on error.
func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	c.run2(c, name, args...)
}

func (c *Cluster) run2(logTo *Cluster, name string, args ...string) {
	c.t.Helper()
	path := filepath.Join(c.bin, name)
	if name == "sh" {
		path = "/bin/sh"
	}
	if out, err := c.exec(path, args...); err != nil {
		c.t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, logTo.Log())
	}
}

func (c *Cluster) exec(path string, args ...string) (string, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGPASSWORD=")
	if cred := serverUser(); cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		return out.String(), fmt.Errorf("timed out")
	}
}

// serverUser is the credential of the "postgres" user when running as root (PostgreSQL refuses
// root), nil otherwise.
func serverUser() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func (c *Cluster) chown(path string) {
	if cred := serverUser(); cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			c.t.Fatal(err)
		}
	}
}

func freePort(t TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
