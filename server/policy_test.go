package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// TestPolicyDir_ReplacesTheEmbeddedPolicyAndLogsDecisions runs the stack on a policy directory
// that denies everything: every route is then refused by the policy (not by handler code), and
// each decision lands in the decision log.
func TestPolicyDir_ReplacesTheEmbeddedPolicyAndLogsDecisions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte("package sovereign.authz\n\ndefault allow := false\n\nreason := \"closed for maintenance\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	s := newStack(t, storetest.SQLite(t), func(c *config.Config) { c.PolicyDir, c.DecisionLog = dir, logFile })
	r := s.do("GET", "/api/v1/developers/me", nil, bearer(s.adminKey)).want(t, 403, "FORBIDDEN")
	if !strings.Contains(string(r.Raw), "closed for maintenance") {
		t.Fatalf("denial = %s", r.Raw)
	}
	s.do("GET", "/api/v1/token/balance?account=x", nil, bearer(s.adminKey)).want(t, 403, "FORBIDDEN")
	b, err := os.ReadFile(logFile)
	if err != nil || strings.Count(string(b), "\n") < 2 || !strings.Contains(string(b), `"decision_id"`) || strings.Contains(string(b), s.adminKey) {
		t.Fatalf("decision log (%v):\n%s", err, b)
	}
}

func TestPolicyDir_ThatDoesNotCompileStopsStartup(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte("package sovereign.authz\n\nallow if {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0" // the tests fund the treasury themselves
	cfg.Data, cfg.PolicyDir = t.TempDir(), dir
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := newServerErr(cfg); err == nil || !strings.Contains(err.Error(), "policy") {
		t.Fatalf("broken policy dir accepted: %v", err)
	}
}
