package main

import (
	"context"
	"strings"
	"testing"
)

// TestTegParams_ShowAndSet: params show prints the set in force; params set changes dotted keys
// (as an admin) into the next version, typed like the values they replace; bad keys, values and
// credentials are refused with a clear message, and nothing changes.
func TestTegParams_ShowAndSet(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("HOME", t.TempDir())
	srv, hs := startStack(t)
	ctx := context.Background()
	conn := []string{"--registry", hs.URL}
	out, err := run(t, ctx, append([]string{"teg", "params", "show"}, conn...)...)
	if err != nil || !strings.Contains(out, `"epoch_seconds": 86400`) || !strings.Contains(out, `"version": 1`) {
		t.Fatalf("show = %q, %v", out, err)
	}
	admin := append(conn, "--credential", srv.AdminKey)
	out, err = run(t, ctx, append([]string{"teg", "params", "set", "staking.epoch_seconds=60", "staking.min_stake=5", "--message", "demo"}, admin...)...)
	if err != nil || !strings.Contains(out, "parameters version 2 in force") {
		t.Fatalf("set = %q, %v", out, err)
	}
	out, _ = run(t, ctx, append([]string{"teg", "params", "show"}, conn...)...)
	if !strings.Contains(out, `"epoch_seconds": 60`) || !strings.Contains(out, `"min_stake": "5"`) || !strings.Contains(out, `"version": 2`) {
		t.Fatalf("after set, show = %q", out)
	}
	for args, want := range map[string]string{
		"staking.nope=1":          "no such parameter",
		"nope.epoch_seconds=1":    "no such section",
		"staking.epoch_seconds=x": "is not a number",
		"epoch_seconds":           "want KEY=VALUE",
		"staking.epoch_seconds=0": "INVALID_FIELD",
	} {
		if out, err := run(t, ctx, append([]string{"teg", "params", "set", args}, admin...)...); err == nil || !strings.Contains(out+err.Error(), want) {
			t.Errorf("set %s = %q, %v; want %q", args, out, err, want)
		}
	}
	if out, err := run(t, ctx, append([]string{"teg", "params", "set", "staking.epoch_seconds=30"}, append(conn, "--credential", "avreg_not-a-key")...)...); err == nil {
		t.Errorf("a set with a bad credential succeeded: %q", out)
	}
	out, _ = run(t, ctx, append([]string{"teg", "params", "show"}, conn...)...)
	if !strings.Contains(out, `"version": 2`) {
		t.Fatalf("a refused set changed the version: %q", out)
	}
}
