//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/store/pgcluster"
)

// TestSoak_Short runs a short soak with the built binary: the split services on a private
// PostgreSQL and Redis, the four faults, the journal check and teg verify must all pass.
func TestSoak_Short(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sovereign and runs a half-minute soak of five processes; not with -short")
	}
	if _, err := pgcluster.Find(); err != nil {
		t.Skip(err.Error())
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "sovereign")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	report := filepath.Join(tmp, "soak.md")
	cmd := exec.CommandContext(ctx, bin, "soak", "--minutes", "0.4", "--report", report, "--svid-ttl", "12s", "--keep", filepath.Join(tmp, "run"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, out)
	}
	md, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, want := range []string{"### Soak run: PASSED", "| registry-kill | fault |", "| teg-kill | fault |", "| postgres-restart | fault |", "| redis-restart | fault |",
		"| transfer |", "| paid_task |", "| federated_query |", "Journal check: OK", "`teg verify`: teg verify: OK", "SVID rotation: OK"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	t.Log(string(md))
}
