// Package spiretest runs a real SPIRE deployment for tests: one spire-server (sqlite datastore,
// bound to loopback, a self-signed CA) and one spire-agent attested with a join token, whose
// Workload API identifies workloads with the unix attestor. Everything lives in a temporary
// directory and is stopped when the test ends.
//
// The binaries are SPIRE v1.13.3, built by scripts/spire-build.sh from the tools module
// tools/spire. Start skips the test, with the reason, when they are not built.
package spiretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Environment variables that locate the SPIRE binaries.
const (
	// BinEnv names the directory holding spire-server and spire-agent.
	BinEnv = "SOVEREIGN_SPIRE_BIN"
	// DirEnv names the cache directory of scripts/spire-build.sh; the binaries are in its bin/.
	// The default is $HOME/.cache/sovereign/spire.
	DirEnv = "SOVEREIGN_SPIRE_DIR"
)

// Limits of a test deployment.
const (
	// startTimeout bounds how long the server or agent may take to become healthy.
	startTimeout = 60 * time.Second
	// commandTimeout bounds one spire-server CLI command.
	commandTimeout = 30 * time.Second
	// stopTimeout is how long a process has to exit after SIGTERM before it is killed.
	stopTimeout = 10 * time.Second
	// logTail is how much of a process's log is shown when a test fails.
	logTail = 4 << 10
)

// Options configure Start. Zero fields take the defaults given.
type Options struct {
	// TrustDomain defaults to "sovereign.test".
	TrustDomain string
	// CATTL is SPIRE's ca_ttl (default 1h).
	CATTL time.Duration
	// X509SVIDTTL is default_x509_svid_ttl (default 5m); entries may set their own.
	X509SVIDTTL time.Duration
	// JWTSVIDTTL is default_jwt_svid_ttl (default 5m).
	JWTSVIDTTL time.Duration
	// SyncInterval is the agent's experimental sync_interval: how often it fetches entries
	// and renews SVIDs past half their life (default 1s, so new entries and rotations show
	// quickly).
	SyncInterval time.Duration
}

// SPIRE is a running server and agent.
type SPIRE struct {
	// TrustDomain is the deployment's trust domain.
	TrustDomain spiffeid.TrustDomain
	// Dir is the temporary directory everything lives in (configurations, data, sockets, logs).
	Dir string
	// ServerSocket is the path of the Server API (admin) socket, for identity.SpireConfig.
	ServerSocket string
	// WorkloadAddr is the Workload API address, unix:///…, as SPIFFE_ENDPOINT_SOCKET takes it.
	WorkloadAddr string
	// AgentID is the agent's SPIFFE ID, the parent of the workload entries.
	AgentID spiffeid.ID

	serverBin, agentBin string
}

// Binaries returns the paths of spire-server and spire-agent: in $SOVEREIGN_SPIRE_BIN when set,
// else in ${SOVEREIGN_SPIRE_DIR:-$HOME/.cache/sovereign/spire}/bin. It fails, saying how to
// build them, when either is missing.
func Binaries() (server, agent string, err error) {
	dir := os.Getenv(BinEnv)
	if dir == "" {
		base := os.Getenv(DirEnv)
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", "", fmt.Errorf("no %s and no home directory: %w", BinEnv, err)
			}
			base = filepath.Join(home, ".cache", "sovereign", "spire")
		}
		dir = filepath.Join(base, "bin")
	}
	server, agent = filepath.Join(dir, "spire-server"), filepath.Join(dir, "spire-agent")
	for _, p := range []string{server, agent} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", "", fmt.Errorf("%s is not built (run scripts/spire-build.sh, or set %s to the directory holding spire-server and spire-agent)", p, BinEnv)
		}
	}
	return server, agent, nil
}

// Start runs a spire-server and a spire-agent for the test and stops them when it ends. It
// skips the test when the binaries are not built and fails it when SPIRE does not come up.
func Start(t testing.TB, opts Options) *SPIRE {
	t.Helper()
	serverBin, agentBin, err := Binaries()
	if err != nil {
		t.Skipf("SPIRE integration test skipped: %v", err)
	}
	if opts.TrustDomain == "" {
		opts.TrustDomain = "sovereign.test"
	}
	td, err := spiffeid.TrustDomainFromString(opts.TrustDomain)
	if err != nil {
		t.Fatalf("spiretest: trust domain: %v", err)
	}
	opts.CATTL = orDefault(opts.CATTL, time.Hour)
	opts.X509SVIDTTL = orDefault(opts.X509SVIDTTL, 5*time.Minute)
	opts.JWTSVIDTTL = orDefault(opts.JWTSVIDTTL, 5*time.Minute)
	opts.SyncInterval = orDefault(opts.SyncInterval, time.Second)

	// A short directory: unix socket paths are limited to 108 bytes, and t.TempDir's names
	// grow with the test's.
	dir, err := os.MkdirTemp("", "spiretest-")
	if err != nil {
		t.Fatalf("spiretest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"server/data", "agent/data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatalf("spiretest: %v", err)
		}
	}
	s := &SPIRE{
		TrustDomain:  td,
		Dir:          dir,
		ServerSocket: filepath.Join(dir, "server", "api.sock"),
		WorkloadAddr: "unix://" + filepath.Join(dir, "agent", "api.sock"),
		serverBin:    serverBin,
		agentBin:     agentBin,
	}

	port, err := freePort()
	if err != nil {
		t.Fatalf("spiretest: %v", err)
	}
	serverConf := filepath.Join(dir, "server", "server.conf")
	writeFile(t, serverConf, ServerConfig(ServerParams{
		TrustDomain: opts.TrustDomain,
		BindPort:    port,
		SocketPath:  s.ServerSocket,
		DataDir:     filepath.Join(dir, "server", "data"),
		CATTL:       opts.CATTL,
		X509SVIDTTL: opts.X509SVIDTTL,
		JWTSVIDTTL:  opts.JWTSVIDTTL,
		LogLevel:    "INFO",
	}))
	start(t, serverBin, filepath.Join(dir, "server", "server.log"), "run", "-config", serverConf)
	s.waitHealthy(t, serverBin, "-socketPath", s.ServerSocket)

	// The agent trusts the server through its bundle, and attests with a one-time join token.
	bundle := s.ServerCommand(t, "bundle", "show")
	bundlePath := filepath.Join(dir, "agent", "bundle.pem")
	writeFile(t, bundlePath, bundle)
	out := s.ServerCommand(t, "token", "generate", "-ttl", "600")
	var token string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Token: "); ok {
			token = strings.TrimSpace(v)
		}
	}
	if token == "" {
		t.Fatalf("spiretest: unexpected output of spire-server token generate: %q", out)
	}
	s.AgentID = spiffeid.RequireFromPath(td, "/spire/agent/join_token/"+token)

	agentConf := filepath.Join(dir, "agent", "agent.conf")
	writeFile(t, agentConf, AgentConfig(AgentParams{
		TrustDomain:     opts.TrustDomain,
		ServerPort:      port,
		SocketPath:      strings.TrimPrefix(s.WorkloadAddr, "unix://"),
		DataDir:         filepath.Join(dir, "agent", "data"),
		TrustBundlePath: bundlePath,
		SyncInterval:    opts.SyncInterval,
		LogLevel:        "INFO",
	}))
	start(t, agentBin, filepath.Join(dir, "agent", "agent.log"), "run", "-config", agentConf, "-joinToken", token)
	s.waitHealthy(t, agentBin, "-socketPath", strings.TrimPrefix(s.WorkloadAddr, "unix://"))
	return s
}

// Entry is a workload registration entry.
type Entry struct {
	// ID is the SPIFFE ID the workload gets.
	ID spiffeid.ID
	// Selectors say which workloads get it, e.g. "unix:uid:1000" (default: the uid of this
	// process, so the test's own Workload API clients get it).
	Selectors []string
	// X509SVIDTTL is the entry's X.509-SVID lifetime (0: the server's default).
	X509SVIDTTL time.Duration
}

// Register creates a workload entry under the agent (spire-server entry create).
func (s *SPIRE) Register(t testing.TB, e Entry) {
	t.Helper()
	args := []string{"entry", "create", "-parentID", s.AgentID.String(), "-spiffeID", e.ID.String()}
	selectors := e.Selectors
	if len(selectors) == 0 {
		selectors = []string{"unix:uid:" + strconv.Itoa(os.Getuid())}
	}
	for _, sel := range selectors {
		args = append(args, "-selector", sel)
	}
	if e.X509SVIDTTL > 0 {
		args = append(args, "-x509SVIDTTL", strconv.Itoa(int((e.X509SVIDTTL+time.Second-1)/time.Second)))
	}
	s.ServerCommand(t, args...)
}

// ServerCommand runs a spire-server CLI command against the test server's socket (the
// -socketPath flag is added after the subcommand words) and returns its standard output.
func (s *SPIRE) ServerCommand(t testing.TB, args ...string) string {
	t.Helper()
	n := 0
	for n < len(args) && !strings.HasPrefix(args[n], "-") {
		n++
	}
	full := append(append(append([]string(nil), args[:n]...), "-socketPath", s.ServerSocket), args[n:]...)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.serverBin, full...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("spiretest: spire-server %s: %v\n%s%s", strings.Join(full, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// waitHealthy runs "<bin> healthcheck <args>" until it succeeds.
func (s *SPIRE) waitHealthy(t testing.TB, bin string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	var last []byte
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		out, err := exec.CommandContext(ctx, bin, append([]string{"healthcheck"}, args...)...).CombinedOutput()
		cancel()
		if err == nil {
			return
		}
		last = out
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("spiretest: %s did not become healthy within %s: %s", filepath.Base(bin), startTimeout, last)
}

// start runs bin in the background with its output in logPath, and stops it when the test
// ends (SIGTERM, then SIGKILL). If the test failed, the log's tail is shown.
func start(t testing.TB, bin, logPath string, args ...string) {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("spiretest: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("spiretest: start %s: %v", filepath.Base(bin), err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("spiretest: tail of %s:\n%s", logPath, tail(logPath, logTail))
		}
	})
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("spiretest: %v", err)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("spiretest: not a TCP address")
	}
	return addr.Port, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
