package main

import (
	"context"
	"strings"
	"testing"
)

// TestUnknownCommandsAndFlagsFail: a mistyped subcommand or flag anywhere fails (a non-zero exit in
// main) naming the closest match and the help command; a bare group still prints its help.
func TestUnknownCommandsAndFlagsFail(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"agent", "lst"}, []string{`unknown command "lst" for "sovereign agent"`, "Did you mean this?\n\tlist", "Available commands: balance, card, heartbeat,", "Run 'sovereign agent --help' for usage"}},
		{[]string{"agent", "regiser"}, []string{"Did you mean this?\n\tregister"}},
		{[]string{"token", "balanse"}, []string{`unknown command "balanse" for "sovereign token"`, "Did you mean this?\n\tbalance"}},
		{[]string{"agnt"}, []string{`unknown command "agnt" for "sovereign"`, "Did you mean this?\n\tagent"}},
		{[]string{"config", "prnt"}, []string{"Did you mean this?\n\tprint"}},
		{[]string{"agent", "heartbeat", "--evry", "1s"}, []string{"unknown flag: --evry", "Did you mean --every?", "Run 'sovereign agent heartbeat --help' for usage"}},
		{[]string{"agent", "heartbeat", "--registy", "http://x"}, []string{"Did you mean --registry?"}},
		{[]string{"token", "--frobnicate"}, []string{"unknown flag: --frobnicate", "Run 'sovereign token --help'"}},
		{[]string{"version", "extra"}, []string{`unknown command "extra" for "sovereign version"`}},
		// Server flags belong to server commands only.
		{[]string{"token", "balance", "--redis", "redis://x"}, []string{"unknown flag: --redis"}},
		{[]string{"whoami", "--policy-bundle", "https://x/b.tar.gz"}, []string{"unknown flag: --policy-bundle"}},
	} {
		out, err := run(t, ctx, tc.args...)
		if err == nil {
			t.Errorf("%v: no error (output %q)", tc.args, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, err, w)
			}
		}
		if strings.Contains(err.Error(), "unknown flag: --frobnicate\n\nDid you mean") {
			t.Errorf("%v: a suggestion for a flag nothing resembles: %q", tc.args, err)
		}
	}
	// A group without a subcommand, and the root, print their help and succeed.
	for _, args := range [][]string{{"agent"}, {}, {"token", "--help"}} {
		out, err := run(t, ctx, args...)
		if err != nil || !strings.Contains(out, "Available Commands:") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"", "abc", 3}, {"every", "every", 0}, {"evry", "every", 1}, {"registy", "registry", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
		if got := editDistance(tc.b, tc.a); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.d)
		}
	}
}
