package policy_test

import (
	"context"
	"testing"

	"github.com/sovereign-stack/sovereign/policy"
)

// TestRegoUnitTests runs the Rego unit tests beside the embedded policies (rego/*_test.rego).
func TestRegoUnitTests(t *testing.T) {
	rep, err := policy.RunTests(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		switch {
		case r.Skip:
			t.Logf("skip %s.%s", r.Package, r.Name)
		case !r.Pass:
			t.Errorf("FAIL %s.%s (%s) %s %s\n%s", r.Package, r.Name, r.Location, r.FailedAt, r.Error, r.Output)
		}
	}
	if rep.Passed < 20 {
		t.Errorf("only %d Rego tests passed", rep.Passed)
	}
	t.Logf("%d Rego tests passed, %d failed, %d skipped", rep.Passed, rep.Failed, rep.Skips)
}
