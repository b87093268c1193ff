//go:build unix

package readme_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFederationWalkthrough runs docs/FEDERATION.md's sh blocks in order in one bash, with
// `sovereign` built from this module on the PATH, its /tmp/fed in a directory of its own and
// free ports, and checks that they succeed and show what the walkthrough says.
func TestFederationWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sovereign and runs two registries; not with -short")
	}
	for _, tool := range []string{"bash", "curl", "awk", "grep", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walkthrough needs %s, which is not installed", tool)
		}
	}
	doc, err := os.ReadFile("docs/FEDERATION.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	for i, bl := range blocks {
		fmt.Fprintf(&b, "echo '### FEDERATION block %d'\n", i+1)
		if bl.skip == "" {
			b.WriteString(bl.text)
		}
	}
	b.WriteString("echo '### FEDERATION done'\n")
	src, _ := freePorts(t, strings.ReplaceAll(b.String(), "/tmp/fed", filepath.Join(tmp, "fed")))

	raw, runErr := runSovereignScript(t, tmp, "federation", src, 3*time.Minute)
	log := string(raw)
	if runErr != nil || !strings.Contains(log, "### FEDERATION done") {
		t.Fatalf("the walkthrough failed (%v):\n%s", runErr, tail(log, 60))
	}
	for _, re := range []string{
		`(?m)^b\.example\s+ACTIVE\s+closed\s+.*fresh, fetched`,          // status
		`(?m)^Weather Agent\s+agt_\S+\s+b\.example`,                     // federation query
		`(?m)^b\.example\s+answered\s+1\s+\d+ms`,                        // its peers section
		`(?m)^a\.example\s+skipped\s+0\s+0ms\s+in_origins\s+b\.example`, // B did not ask A back
		`"name":"Weather Agent","origin_registry":"b.example"`,          // the search
		`(?m)^304$`, // If-None-Match
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", re, tail(log, 40))
		}
	}
}

// runSovereignScript builds sovereign from this module into tmp/bin, writes the bash script src
// to tmp/NAME.sh and runs it (runScript) with that binary first on the PATH, tmp as its HOME and
// TMPDIR, within timeout; it returns the script's output and how bash ended.
func runSovereignScript(t *testing.T, tmp, name, src string, timeout time.Duration) ([]byte, error) {
	t.Helper()
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "sovereign"), "./cmd/sovereign")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	scriptPath := filepath.Join(tmp, name+".sh")
	if err := os.WriteFile(scriptPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return runScript(t, ctx, scriptPath, "", []string{"HOME=" + tmp, "PATH=" + bin + ":" + os.Getenv("PATH"), "LANG=C.UTF-8", "TMPDIR=" + tmp},
		filepath.Join(tmp, name+".out"))
}
