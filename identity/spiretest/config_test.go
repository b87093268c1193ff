package spiretest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example configurations in deploy/spire are these renderings: the README's walk-through
// runs SPIRE with the configuration the tests use, but with SPIRE's default sockets, the
// lifetimes of DESIGN.md §4 and state under /tmp/sovereign-spire.
var (
	deployServer = ServerParams{
		TrustDomain: "sovereign.test",
		BindPort:    8081,
		SocketPath:  "/tmp/spire-server/private/api.sock",
		DataDir:     "/tmp/sovereign-spire/server",
		CATTL:       24 * time.Hour,
		X509SVIDTTL: time.Hour,
		JWTSVIDTTL:  5 * time.Minute,
		LogLevel:    "INFO",
	}
	deployAgent = AgentParams{
		TrustDomain:     "sovereign.test",
		ServerPort:      8081,
		SocketPath:      "/tmp/spire-agent/public/api.sock",
		DataDir:         "/tmp/sovereign-spire/agent",
		TrustBundlePath: "/tmp/sovereign-spire/bundle.pem",
		LogLevel:        "INFO",
	}
)

// deployDir is deploy/spire, from this package's directory.
var deployDir = filepath.Join("..", "..", "deploy", "spire")

func TestDeployConfigs_AreTheTestTemplates(t *testing.T) {
	if os.Getenv("SPIRETEST_WRITE_DEPLOY") == "1" {
		for name, content := range map[string]string{"server.conf": ServerConfig(deployServer), "agent.conf": AgentConfig(deployAgent)} {
			if err := os.WriteFile(filepath.Join(deployDir, name), []byte(deployHeader+content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range map[string]string{"server.conf": ServerConfig(deployServer), "agent.conf": AgentConfig(deployAgent)} {
		data, err := os.ReadFile(filepath.Join(deployDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimPrefix(string(data), deployHeader); got != want {
			t.Errorf("deploy/spire/%s differs from the spiretest template (regenerate: SPIRETEST_WRITE_DEPLOY=1 go test ./identity/spiretest/):\n%s", name, got)
		}
	}
}

// deployHeader heads the files in deploy/spire.
const deployHeader = `# Generated from identity/spiretest (the configuration the SPIRE integration test runs), with
# SPIRE's default socket paths and state under /tmp/sovereign-spire: a development setup, see
# README "Running with real SPIRE". Regenerate: SPIRETEST_WRITE_DEPLOY=1 go test ./identity/spiretest/
`

// TestConfigs_SPIREValidatesThem runs spire-server validate and spire-agent validate on both
// the deploy configurations and the ones the tests render.
func TestConfigs_SPIREValidatesThem(t *testing.T) {
	server, agent, err := Binaries()
	if err != nil {
		t.Skipf("SPIRE config validation skipped: %v", err)
	}
	dir := t.TempDir()
	testServer := deployServer
	testServer.DataDir, testServer.SocketPath = filepath.Join(dir, "data"), filepath.Join(dir, "api.sock")
	testServer.CATTL, testServer.X509SVIDTTL = time.Hour, 20*time.Second
	testAgent := deployAgent
	testAgent.DataDir, testAgent.SocketPath, testAgent.SyncInterval = filepath.Join(dir, "data"), filepath.Join(dir, "w.sock"), time.Second
	for _, c := range []struct{ bin, path, content string }{
		{server, filepath.Join(deployDir, "server.conf"), ""},
		{agent, filepath.Join(deployDir, "agent.conf"), ""},
		{server, filepath.Join(dir, "server.conf"), ServerConfig(testServer)},
		{agent, filepath.Join(dir, "agent.conf"), AgentConfig(testAgent)},
	} {
		if c.content != "" {
			if err := os.WriteFile(c.path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := exec.Command(c.bin, "validate", "-config", c.path).CombinedOutput(); err != nil {
			t.Errorf("%s validate -config %s: %v\n%s", filepath.Base(c.bin), c.path, err, out)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1h", 24 * time.Hour: "24h", 5 * time.Minute: "5m", 20 * time.Second: "20s", 90 * time.Second: "1m30s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
