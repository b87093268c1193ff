package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPolicyTest_Embedded(t *testing.T) {
	out, err := run(t, context.Background(), "policy", "test")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`PASS: (\d+)/(\d+) passed`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("no pass count:\n%s", out)
	}
	out, err = run(t, context.Background(), "policy", "test", "-v")
	if err != nil || !strings.Contains(out, "PASS sovereign.authz_test.test_") {
		t.Fatalf("verbose: %v\n%s", err, out)
	}
}

func TestPolicyTest_DirWithFailure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("authz.rego", "package sovereign.authz\n\ndefault allow := false\n\nallow if input.action == \"a\"\n")
	write("authz_test.rego", "package sovereign.authz_test\n\nimport data.sovereign.authz\n\n"+
		"test_a if authz.allow with input as {\"action\": \"a\"}\n\n"+
		"test_b if authz.allow with input as {\"action\": \"b\"}\n")
	out, err := run(t, context.Background(), "policy", "test", dir)
	if err == nil {
		t.Fatalf("a failing test did not fail the command:\n%s", out)
	}
	if !strings.Contains(out, "FAIL sovereign.authz_test.test_b") || !strings.Contains(out, "FAIL: 1/2 failed, 1 passed") {
		t.Fatalf("output:\n%s", out)
	}

	write("authz_test.rego", "package sovereign.authz_test\n\nimport data.sovereign.authz\n\n"+
		"test_a if authz.allow with input as {\"action\": \"a\"}\n")
	if out, err := run(t, context.Background(), "policy", "test", dir); err != nil || !strings.Contains(out, "PASS: 1/1 passed") {
		t.Fatalf("%v\n%s", err, out)
	}

	write("authz_test.rego", "package sovereign.authz_test\n\ntest_broken if {\n")
	if out, err := run(t, context.Background(), "policy", "test", dir); err == nil {
		t.Fatalf("a test file that does not parse passed:\n%s", out)
	}
}

func TestPolicyEval(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "input.json")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(args ...string) (map[string]any, string, error) {
		out, err := run(t, context.Background(), append([]string{"policy", "eval", "--input", file}, args...)...)
		var d map[string]any
		if err == nil {
			if jerr := json.Unmarshal([]byte(out), &d); jerr != nil {
				t.Fatalf("not JSON: %v\n%s", jerr, out)
			}
		}
		return d, out, err
	}

	write(`{"subject": {"kind": "developer", "id": "dev_a", "auth_method": "session"}, "action": "developer.read",
		"resource": {"kind": "developer", "id": "dev_a", "owner": "dev_a"}}`)
	d, out, err := eval()
	if err != nil || d["allow"] != true || d["decision_id"] == "" || d["revision"] == "" {
		t.Fatalf("%v\n%s", err, out)
	}

	write(`{"subject": {"kind": "developer", "id": "dev_a", "auth_method": "api_key", "scopes": ["read"]}, "action": "developer.update",
		"resource": {"kind": "developer", "id": "dev_a", "owner": "dev_a"}}`)
	if d, out, err = eval(); err != nil || d["allow"] != false || d["reason"] != "API key lacks the write scope" {
		t.Fatalf("%v\n%s", err, out)
	}

	write(`{"subject": {"kind": "agent", "id": "agt_1", "reputation": 150}, "action": "governance.propose"}`)
	if d, out, err = eval(); err != nil || d["reason"] != "governance.propose requires the Trusted tier or above; the subject is New" {
		t.Fatalf("%v\n%s", err, out)
	}

	// --dir: the policies of a directory
	pdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pdir, "p.rego"), []byte("package sovereign.authz\n\ndefault allow := false\n\nallow if input.subject.reputation > 100\n\nreason := \"low\" if not allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, out, err = eval("--dir", pdir); err != nil || d["allow"] != true {
		t.Fatalf("%v\n%s", err, out)
	}

	// mistakes are errors, not decisions
	write(`{"subject": {"kind": "agent"}, "acton": "token.transfer"}`)
	if _, out, err = eval(); err == nil || !strings.Contains(err.Error(), "acton") {
		t.Fatalf("misspelt field accepted: %v\n%s", err, out)
	}
	if out, err := run(t, context.Background(), "policy", "eval"); err == nil {
		t.Fatalf("missing --input accepted:\n%s", out)
	}
	if _, out, err = eval("--dir", filepath.Join(dir, "nope")); err == nil {
		t.Fatalf("missing --dir accepted:\n%s", out)
	}
}
