package policy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/policy"
)

// allowAll is a module that allows every action: it changes every decision.
const allowAll = "package sovereign.authz\n\ndefault allow := false\n\nallow := true\n"

func allowsAnonymous(t *testing.T, e *policy.Engine, action string) bool {
	t.Helper()
	d, err := e.Decide(context.Background(), policy.QueryAllow, policy.Input{Subject: policy.Subject{Kind: policy.KindAnonymous}, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return d.Allow
}

// SetModules replaces a file of the policy source at run time and changes decisions at once; a
// set that does not compile keeps the policy in force and says why; a reload of the directory
// keeps the modules.
func TestEngine_SetModules(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("rego/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	tiers, _ := os.ReadFile("rego/tiers.rego")
	for name, text := range map[string][]byte{"authz.rego": src, "tiers.rego": tiers} {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e, err := policy.NewWithOptions(policy.WithDir(dir), policy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if allowsAnonymous(t, e, "developer.list") {
		t.Fatal("anonymous lists developers before the module")
	}
	before := e.Revision()
	if err := e.SetModules(ctx, map[string]string{"authz.rego": allowAll}); err != nil {
		t.Fatal(err)
	}
	if !allowsAnonymous(t, e, "developer.list") || !strings.Contains(e.Revision(), "+modules-") || e.Revision() == before {
		t.Fatalf("the module is not in force (revision %s)", e.Revision())
	}
	if err := e.Reload(ctx); err != nil || !allowsAnonymous(t, e, "developer.list") {
		t.Fatalf("a reload of the directory dropped the module: %v", err)
	}
	if err := e.SetModules(ctx, map[string]string{"authz.rego": "package sovereign.authz\nallow if {"}); err == nil || e.LastError() == nil {
		t.Fatal("a module that does not compile was accepted")
	}
	if !allowsAnonymous(t, e, "developer.list") {
		t.Fatal("a bad module set replaced the policy in force")
	}
	if err := e.SetModules(ctx, map[string]string{}); err != nil || allowsAnonymous(t, e, "developer.list") {
		t.Fatalf("removing the modules did not restore the source's policy: %v", err)
	}
}

// CheckModule compiles a module with the policy and runs the tests given with it, only those.
func TestEngine_CheckModule(t *testing.T) {
	e := policy.New()
	ctx := context.Background()
	pass := "package allow_all_test\nimport data.sovereign.authz\ntest_everything_allowed if authz.allow with input as {\"action\": \"x\"}\n"
	rep, err := e.CheckModule(ctx, nil, "authz.rego", allowAll, pass)
	if err != nil || !rep.OK() || rep.Passed != 1 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	fail := "package allow_all_test\nimport data.sovereign.authz\ntest_nothing_allowed if not authz.allow with input as {\"action\": \"x\"}\n"
	if rep, err := e.CheckModule(ctx, nil, "authz.rego", allowAll, fail); err != nil || rep.OK() || rep.Failed != 1 {
		t.Fatalf("failing tests: report %+v, %v", rep, err)
	}
	if _, err := e.CheckModule(ctx, nil, "authz.rego", "package sovereign.authz\nallow if {", pass); !errors.Is(err, policy.ErrModuleCompile) {
		t.Fatalf("a module that does not parse: %v", err)
	}
	if _, err := e.CheckModule(ctx, nil, "authz.rego", "package other\nx := 1\n", pass); !errors.Is(err, policy.ErrModuleCompile) {
		t.Fatalf("a module that leaves no allow rule: %v", err)
	}
	if _, err := e.CheckModule(ctx, nil, "extra.rego", "package extra\nx := 1\n", "package t\n"); !errors.Is(err, policy.ErrNoTests) {
		t.Fatalf("tests without test_ rules: %v", err)
	}
}
