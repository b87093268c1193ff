//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store/pgcluster"
)

// soakTB runs store/pgcluster outside a test: Fatal and Skip panic with a soakFatal (pgDo
// turns it back into an error), Cleanup functions run at cleanup, last first.
type soakTB struct {
	mu       sync.Mutex
	cleanups []func()
}

type soakFatal struct{ msg string }

func (*soakTB) Helper()                           {}
func (*soakTB) Fatal(args ...any)                 { panic(soakFatal{fmt.Sprint(args...)}) }
func (*soakTB) Fatalf(format string, args ...any) { panic(soakFatal{fmt.Sprintf(format, args...)}) }
func (*soakTB) Skip(args ...any)                  { panic(soakFatal{fmt.Sprint(args...)}) }
func (t *soakTB) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *soakTB) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// pgDo runs f, a call of pgcluster's, and returns its failure as an error.
func pgDo(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			sf, ok := r.(soakFatal)
			if !ok {
				panic(r)
			}
			err = errors.New(strings.TrimSpace(sf.msg))
		}
	}()
	f()
	return nil
}

// soakProc is one service process of the soak: the same binary with a subcommand, its output
// appended to a log file, restartable with the same arguments (and data).
type soakProc struct {
	name, bin string
	args, env []string
	logPath   string
	// url is the public listener (its /readyz), metrics the metrics listener.
	url, metrics string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// soakEnv is the environment of the children: this process's without SOVEREIGN_* settings
// (they would leak into every service), plus extra.
func soakEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOVEREIGN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func (p *soakProc) start() error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "=== %s start %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = soakEnv(p.env)
	cmd.Stdout, cmd.Stderr = log, log
	// The children die with the soak, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	return nil
}

// signal sends sig to the process and waits up to wait for it to end (then kills it).
func (p *soakProc) signal(sig syscall.Signal, wait time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// kill is kill -9.
func (p *soakProc) kill() { p.signal(syscall.SIGKILL, 10*time.Second) }

// stop asks the process to end (SIGTERM) and kills it after 15 s.
func (p *soakProc) stop() { p.signal(syscall.SIGTERM, 15*time.Second) }

func (p *soakProc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ready reports whether the service's /readyz answers 200 (Redis: PING answers).
func (p *soakProc) ready(ctx context.Context) bool {
	if p.url == "" {
		return p.running()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if strings.HasPrefix(p.url, "redis://") {
		return redisPing(ctx, strings.TrimPrefix(p.url, "redis://"))
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/readyz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// redisPing sends PING to the Redis at addr (host:port) and reads +PONG.
func redisPing(ctx context.Context, addr string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 16)
	n, _ := c.Read(buf)
	return bytes.HasPrefix(buf[:n], []byte("+PONG"))
}

// waitReady waits until every process is ready, or timeout.
func waitReady(ctx context.Context, timeout time.Duration, procs ...*soakProc) error {
	deadline := time.Now().Add(timeout)
	for _, p := range procs {
		for !p.ready(ctx) {
			if !p.running() && p.cmd != nil {
				return fmt.Errorf("%s exited; its log %s ends:\n%s", p.name, p.logPath, tailFile(p.logPath, 15))
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s not ready after %s; its log %s ends:\n%s", p.name, timeout, p.logPath, tailFile(p.logPath, 15))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func soakFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// soakStack is the services of a soak run: a private PostgreSQL cluster, a private Redis, two
// TEG replicas on one ledger database and two registries in two trust domains, peered.
type soakStack struct {
	dir   string
	tb    *soakTB
	pg    *pgcluster.Cluster
	redis *soakProc
	teg1  *soakProc
	teg2  *soakProc
	regA  *soakProc // registry serve, trust domain a.soak.test, on the TEG replicas
	regB  *soakProc // up (registry with its own ledger), trust domain b.soak.test
	// tegDSN is the ledger's database; the admin keys are the TEG's and each registry's.
	tegDSN                         string
	tegAdmin, regAAdmin, regBAdmin string
	fedA, fedB                     string
}

// soakStackOptions are the settings of the stack.
type soakStackOptions struct {
	bin, pgBin, redisBin string
	svidTTL              time.Duration
	out                  func(format string, args ...any)
}

// services are the service processes (not Redis).
func (s *soakStack) services() []*soakProc { return []*soakProc{s.teg1, s.teg2, s.regA, s.regB} }

// all is every process and PostgreSQL's readiness as one list for waitReady.
func (s *soakStack) all() []*soakProc {
	return append([]*soakProc{s.redis}, s.services()...)
}

// startSoakStack starts the stack in dir.
func startSoakStack(ctx context.Context, dir string, o soakStackOptions) (_ *soakStack, err error) {
	s := &soakStack{dir: dir, tb: &soakTB{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	os.Setenv("SOVEREIGN_PG_BIN", o.pgBin) // what pgcluster runs
	o.out("PostgreSQL: a private cluster (initdb)…")
	if err := pgDo(func() {
		s.pg = pgcluster.Init(s.tb, map[string]string{"max_connections": "300", "shared_buffers": "'64MB'"})
		s.pg.Start()
	}); err != nil {
		return nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	conn, err := pgx.Connect(ctx, s.pg.DSN("postgres"))
	if err != nil {
		return nil, err
	}
	for _, db := range []string{"soak_teg", "soak_registry_a", "soak_registry_b"} {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("create database %s: %w", db, err)
		}
	}
	conn.Close(ctx)
	s.tegDSN = s.pg.DSN("soak_teg")

	ports := make([]int, 13)
	for i := range ports {
		if ports[i], err = soakFreePort(); err != nil {
			return nil, err
		}
	}
	redisAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	if err := os.MkdirAll(filepath.Join(dir, "redis"), 0o700); err != nil {
		return nil, err
	}
	s.redis = &soakProc{name: "redis", bin: o.redisBin, logPath: filepath.Join(dir, "redis.log"), url: "redis://" + redisAddr,
		args: []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--save", "", "--appendonly", "no",
			"--dir", filepath.Join(dir, "redis"), "--protected-mode", "no"}}
	if err := s.redis.start(); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, 20*time.Second, s.redis); err != nil {
		return nil, err
	}
	open := []string{"SOVEREIGN_RATE_LIMITS_DEFAULT_PER_MINUTE=10000000", "SOVEREIGN_RATE_LIMITS_DEFAULT_BURST=10000000",
		"SOVEREIGN_RATE_LIMITS_AUTH_PER_MINUTE=10000000", "SOVEREIGN_RATE_LIMITS_AUTH_BURST=10000000",
		"SOVEREIGN_RATE_LIMITS_BOOTSTRAP_PER_MINUTE=10000000", "SOVEREIGN_RATE_LIMITS_BOOTSTRAP_BURST=10000000",
		"SOVEREIGN_LOG_LEVEL=warn", "SOVEREIGN_FEDERATION_SYNC_INTERVAL=2s"}
	env := func(extra ...string) []string { return append(append([]string{}, open...), extra...) }
	ca := filepath.Join(dir, "ca-a") // the one builtin CA of trust domain a: the TEGs and registry A share it
	local := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	svidTTL := o.svidTTL.String()
	teg := func(name string, pub, mtls, metrics int) *soakProc {
		return &soakProc{name: name, bin: o.bin, logPath: filepath.Join(dir, name+".log"), url: "http://" + local(pub), metrics: "http://" + local(metrics) + "/metrics",
			args: []string{"teg", "serve", "--data", filepath.Join(dir, name), "--addr", local(pub), "--mtls-addr", local(mtls),
				"--identity-dir", ca, "--svid-ttl", svidTTL, "--metrics-addr", local(metrics)},
			env: env("SOVEREIGN_STORE="+s.tegDSN, "SOVEREIGN_REDIS=redis://"+redisAddr+"/0", "SOVEREIGN_TRUST_DOMAIN=a.soak.test",
				"SOVEREIGN_ONBOARDING_GENESIS_SUPPLY=1000000000")}
	}
	s.teg1 = teg("teg-1", ports[1], ports[2], ports[3])
	s.teg2 = teg("teg-2", ports[4], ports[5], ports[6])
	s.fedA, s.fedB = "https://"+local(ports[8]), "https://"+local(ports[11])
	s.regA = &soakProc{name: "registry-a", bin: o.bin, logPath: filepath.Join(dir, "registry-a.log"), url: "http://" + local(ports[7]),
		metrics: "http://" + local(ports[9]) + "/metrics",
		args: []string{"registry", "serve", "--data", filepath.Join(dir, "registry-a"), "--addr", local(ports[7]),
			"--teg-url", "https://" + local(ports[2]), "--identity-dir", ca, "--registry-name", "a", "--svid-ttl", svidTTL,
			"--federation-addr", local(ports[8]), "--metrics-addr", local(ports[9])},
		env: env("SOVEREIGN_STORE="+s.pg.DSN("soak_registry_a"), "SOVEREIGN_REDIS=redis://"+redisAddr+"/1",
			"SOVEREIGN_TRUST_DOMAIN=a.soak.test", "SOVEREIGN_PUBLIC_URL=http://"+local(ports[7]),
			"SOVEREIGN_ONBOARDING_STARTING_GRANT=100000", "SOVEREIGN_ONBOARDING_GRANT_DAILY_CAP_PER_DEVELOPER=unlimited")}
	s.regB = &soakProc{name: "registry-b", bin: o.bin, logPath: filepath.Join(dir, "registry-b.log"), url: "http://" + local(ports[10]),
		metrics: "http://" + local(ports[12]) + "/metrics",
		args: []string{"up", "--data", filepath.Join(dir, "registry-b"), "--addr", local(ports[10]),
			"--federation-addr", local(ports[11]), "--metrics-addr", local(ports[12])},
		env: env("SOVEREIGN_STORE="+s.pg.DSN("soak_registry_b"), "SOVEREIGN_REDIS=redis://"+redisAddr+"/2",
			"SOVEREIGN_TRUST_DOMAIN=b.soak.test", "SOVEREIGN_PUBLIC_URL=http://"+local(ports[10]))}

	// The first TEG creates the ledger (and its admin) alone; then the rest.
	o.out("TEG replica 1 (creates the ledger)…")
	if err := s.teg1.start(); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, 90*time.Second, s.teg1); err != nil {
		return nil, err
	}
	o.out("TEG replica 2, registry A (split, trust domain a.soak.test), registry B (up, b.soak.test)…")
	for _, p := range []*soakProc{s.teg2, s.regA, s.regB} {
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	if err := waitReady(ctx, 120*time.Second, s.services()...); err != nil {
		return nil, err
	}
	read := func(d string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, d, server.AdminKeyFile))
		return strings.TrimSpace(string(b)), err
	}
	if s.tegAdmin, err = read("teg-1"); err != nil {
		return nil, fmt.Errorf("the TEG's admin key: %w", err)
	}
	if s.regAAdmin, err = read("registry-a"); err != nil {
		return nil, fmt.Errorf("registry A's admin key: %w", err)
	}
	if s.regBAdmin, err = read("registry-b"); err != nil {
		return nil, fmt.Errorf("registry B's admin key: %w", err)
	}
	o.out("peering registry A and registry B (federation)…")
	if err := s.peer(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// peer has each registry's admin propose the other as a peer and approve it, then waits until
// a federated query on each reaches the other.
func (s *soakStack) peer(ctx context.Context) error {
	type reg struct {
		url, admin, td, fed string
	}
	a := reg{s.regA.url, s.regAAdmin, "a.soak.test", s.fedA}
	b := reg{s.regB.url, s.regBAdmin, "b.soak.test", s.fedB}
	for _, pair := range [][2]reg{{a, b}, {b, a}} {
		me, other := pair[0], pair[1]
		var p struct {
			ID string `json:"id"`
		}
		cl := newRegistryClient(me.url, me.admin)
		if err := cl.do("POST", "/api/v1/federation/peers", nil, map[string]string{"name": other.td, "trust_domain": other.td,
			"base_url": other.fed, "bundle_endpoint": other.url + "/.well-known/spiffe-bundle"}, &p); err != nil {
			return fmt.Errorf("%s proposes %s: %w", me.td, other.td, err)
		}
		if err := cl.do("POST", "/api/v1/federation/peers/"+p.ID+"/approve", nil, map[string]string{"reason": "soak"}, nil); err != nil {
			return fmt.Errorf("%s approves %s: %w", me.td, other.td, err)
		}
	}
	return nil
}

// restartPostgres stops the private PostgreSQL server (fast shutdown: connections cut) and
// starts it again after pause.
func (s *soakStack) restartPostgres(pause time.Duration) error {
	if err := pgDo(s.pg.Stop); err != nil {
		return err
	}
	time.Sleep(pause)
	return pgDo(s.pg.Start)
}

// close stops every process and removes the private PostgreSQL cluster.
func (s *soakStack) close() {
	var wg sync.WaitGroup
	for _, p := range []*soakProc{s.regA, s.regB, s.teg1, s.teg2} {
		if p != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop() }()
		}
	}
	wg.Wait()
	if s.redis != nil {
		s.redis.stop()
	}
	if s.pg != nil { // the cluster's directory goes with it: keep its log beside the others
		_ = os.WriteFile(filepath.Join(s.dir, "postgres.log"), []byte(s.pg.Log()), 0o600)
	}
	s.tb.cleanup()
}
