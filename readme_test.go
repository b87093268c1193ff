//go:build unix

// Package readme_test runs the README: every `sh` block, in order, in one bash, on a fresh copy of
// the module, against the stack its Quick start starts.
//
// A new section's `sh` blocks are picked up as they are: write them to run verbatim after the
// blocks before them (wait for what they start, keep ids in shell variables). A block that cannot
// run here gets `<!-- readme-test: skip (why) -->` on the line before it. `127.0.0.1:PORT` literals
// are mapped to free ports, and the Quick start's `up` runs in the background.
package readme_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skipMarker, on the line before a block, keeps the test from running it; the rest of the line
// says why (the test logs it).
const skipMarker = "<!-- readme-test: skip"

// block is one fenced `sh` block of the README.
type block struct {
	line int    // 1-based line of its opening fence
	text string // its lines, without the fences
	skip string // why it is not run ("" when it is)
}

// readmeBlocks returns the README's `sh` blocks in order.
func readmeBlocks(readme string) ([]block, error) {
	var (
		blocks []block
		cur    *block
		prev   string
	)
	sc := bufio.NewScanner(strings.NewReader(readme))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && l == "```sh":
			cur = &block{line: n}
			if strings.HasPrefix(prev, skipMarker) {
				cur.skip = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(prev, skipMarker)), "-->")
			}
		case cur != nil && l == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
		if strings.TrimSpace(l) != "" {
			prev = l
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("the block at line %d is not closed", cur.line)
	}
	return blocks, sc.Err()
}

// quickStart is the Quick start block, exactly: the test runs `up` in the background (a reader
// leaves it running in its own terminal) and not `go test ./...`, which is what runs this test.
const quickStart = "go run ./cmd/sovereign up\ngo test ./...\n"

// script is the bash script of the blocks: `up` in the background, every other block as it is,
// each announced on stdout so that a failure names its block.
func script(blocks []block) (string, error) {
	if len(blocks) == 0 || blocks[0].text != quickStart {
		return "", fmt.Errorf("the README's first sh block must be the Quick start, exactly %q", quickStart)
	}
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	for i, bl := range blocks {
		fmt.Fprintf(&b, "echo '### README block %d (line %d)'\n", i+1, bl.line)
		switch {
		case i == 0:
			// A reader's `up` keeps its own terminal; here it runs in the background, and a
			// failed start ends the script instead of leaving the next block waiting.
			b.WriteString("go run ./cmd/sovereign up &\nreadme_up=$!\n" +
				"until curl -sf http://127.0.0.1:8420/readyz >/dev/null; do kill -0 $readme_up || { echo '### up exited'; exit 1; }; sleep 0.5; done\n")
		case bl.skip != "":
			fmt.Fprintf(&b, "echo '### skipped: %s'\n", strings.ReplaceAll(bl.skip, "'", ""))
		default:
			b.WriteString(bl.text)
		}
	}
	b.WriteString("echo '### README done'\n")
	return b.String(), nil
}

var hostPort = regexp.MustCompile(`127\.0\.0\.1:(\d{4,5})\b`)

// freePorts maps every 127.0.0.1 port the script names to a free one, so that the test runs beside
// a developer's own `up` and agents.
func freePorts(t *testing.T, s string) (string, map[string]string) {
	ports := map[string]string{}
	for _, m := range hostPort.FindAllStringSubmatch(s, -1) {
		if _, ok := ports[m[1]]; ok {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		_ = ln.Close()
		ports[m[1]] = p
	}
	return hostPort.ReplaceAllStringFunc(s, func(hp string) string {
		return "127.0.0.1:" + ports[strings.TrimPrefix(hp, "127.0.0.1:")]
	}), ports
}

// copyModule copies the module's source (no data directories, no VCS) to dst: a fresh clone.
func copyModule(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") && name != ".ci" || rel == "data" || name == "rapid" && strings.HasSuffix(filepath.Dir(rel), "testdata")) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || name == ".git" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
}

// goEnv is the go command's cache and module settings, kept when HOME moves so that the run
// reuses the build cache and downloaded modules.
func goEnv(t *testing.T) []string {
	out, err := exec.Command("go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "GONOSUMDB", "GOPRIVATE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	var env []string
	for k, v := range m {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// TestReadmeBlocks runs the README's sh blocks in order in one bash, in a fresh copy of the module
// with its own HOME and data directory and free ports, and checks they all succeed, that no API
// call in them answered an error, and that the walk-throughs show what the README says they show.
// Every process the blocks start (the stack, the example agents) is killed at the end.
func TestReadmeBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole README against a fresh stack (minutes); not with -short")
	}
	for _, tool := range []string{"bash", "curl", "sed", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's blocks need %s, which is not installed", tool)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	src, err := script(blocks)
	if err != nil {
		t.Fatal(err)
	}
	src, ports := freePorts(t, src)
	for _, b := range blocks {
		if b.skip != "" {
			t.Logf("README line %d: not run: %s", b.line, b.skip)
		}
	}

	tmp := t.TempDir()
	clone := filepath.Join(tmp, "sovereign")
	if err := copyModule(".", clone); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(tmp, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(tmp, "readme.sh")
	if err := os.WriteFile(scriptPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "TMPDIR=" + tmp}
	env = append(env, goEnv(t)...)
	// `up` reads its address from the environment; the client commands their registry.
	addr := "127.0.0.1:" + ports["8420"]
	env = append(env, "SOVEREIGN_ADDR="+addr, "SOVEREIGN_REGISTRY=http://"+addr)

	timeout := 20 * time.Minute
	if d, ok := t.Deadline(); ok && time.Until(d)-30*time.Second < timeout {
		timeout = time.Until(d) - 30*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	raw, runErr := runScript(t, ctx, scriptPath, clone, env, filepath.Join(tmp, "readme.out"))
	log := string(raw)
	if runErr != nil || ctx.Err() != nil {
		t.Fatalf("the README's blocks failed (%v; %v) in %s:\n%s", runErr, ctx.Err(), lastBlock(log), tail(log, 80))
	}
	if !strings.Contains(log, "### README done") {
		t.Fatalf("the script did not reach its end:\n%s", tail(log, 80))
	}
	if i := strings.Index(log, `{"error":{"code"`); i >= 0 {
		t.Errorf("an API call in %s answered an error: %.300s", lastBlock(log[:i]), log[i:])
	}
	for _, want := range []string{
		`"email":"ada@example.com"`,  // who am I
		"HELLO SOVEREIGN WORLD",      // run --stream
		"ONCE UPON A TIME",           // the paid run
		": posted",                   // its payment
		"liquid 98.4985",             // the payer's balance after it
		"THREE BINDINGS",             // the gRPC run
		"stake 1050 AVT (self 1000)", // the validator, with the delegation
		"teg verify: OK",             // the log accounts for the staking
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the README's output lacks %q:\n%s", want, tail(log, 60))
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("ran %d README blocks in %s", len(blocks), clone)
}

// stopGroup ends the process group the script led (SIGTERM, then SIGKILL) and checks nothing of
// it is left.
func stopGroup(t *testing.T, pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	time.Sleep(500 * time.Millisecond)
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes of the README's blocks survived SIGKILL (process group %d)", pgid)
	}
}

// lastBlock names the last block the output announced.
func lastBlock(log string) string {
	i := strings.LastIndex(log, "### README block ")
	if i < 0 {
		return "the script's start"
	}
	line, _, _ := strings.Cut(log[i+4:], "\n")
	return line
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runScript runs the bash script at path in dir with env, its output (and its background jobs')
// going to the file out, and returns that output and how bash ended. The script and every job it
// starts share a process group, which is killed when ctx ends and stopped when the script does.
func runScript(t *testing.T, ctx context.Context, path, dir string, env []string, out string) ([]byte, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "bash", path)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: the background jobs keep their output open after bash exits.
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	runErr := cmd.Wait()
	stopGroup(t, pgid)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return raw, runErr
}
