package policy

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego unit test (a rule named test_* in a *_test.rego file).
type TestResult struct {
	Package  string        `json:"package"`
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Pass     bool          `json:"pass"`
	Skip     bool          `json:"skip,omitempty"`
	Error    string        `json:"error,omitempty"`
	FailedAt string        `json:"failed_at,omitempty"` // the expression that was false, with its location
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// TestReport is the outcome of RunTests.
type TestReport struct {
	Results               []TestResult `json:"results"`
	Passed, Failed, Skips int
}

// OK reports whether at least one test ran and none failed.
func (r *TestReport) OK() bool { return r.Failed == 0 && r.Passed > 0 }

// ErrNoTests is returned by RunTests when the policies have no test_* rules.
var ErrNoTests = errors.New("policy: no Rego tests found")

// RunTests runs the Rego unit tests of the policies in dir with OPA's tester, the embedded
// policies when dir is "". A test that fails is in the report, not an error; an error means
// the policies and tests could not be loaded or compiled.
func RunTests(ctx context.Context, dir string) (*TestReport, error) {
	fsys := embeddedFS()
	if dir != "" {
		fsys = dirFS(dir)
	}
	files, _, err := readRego(fsys, true)
	if err != nil {
		return nil, err
	}
	mods, err := parseModules(files)
	if err != nil {
		return nil, err
	}
	return runTests(ctx, mods)
}

// runTests runs the test_* rules of mods.
func runTests(ctx context.Context, mods map[string]*ast.Module) (*TestReport, error) {
	ch, err := tester.NewRunner().
		SetModules(mods).
		SetDefaultRegoVersion(ast.RegoV1).
		SetTimeout(30*time.Second).
		CapturePrintOutput(true).
		RunTests(ctx, nil)
	if err != nil {
		return nil, err
	}
	rep := &TestReport{}
	for r := range ch {
		tr := TestResult{Package: r.Package, Name: r.Name, Pass: r.Pass(), Skip: r.Skip, Duration: r.Duration, Output: string(r.Output)}
		if r.Location != nil {
			tr.Location = r.Location.String()
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
		}
		if r.FailedAt != nil {
			tr.FailedAt = r.FailedAt.String()
			if r.FailedAt.Location != nil {
				tr.FailedAt = r.FailedAt.Location.String() + ": " + tr.FailedAt
			}
		}
		switch {
		case r.Skip:
			rep.Skips++
		case tr.Pass:
			rep.Passed++
		default:
			rep.Failed++
		}
		rep.Results = append(rep.Results, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Results, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.Package, b.Package), cmp.Compare(a.Name, b.Name))
	})
	if len(rep.Results) == 0 {
		return rep, ErrNoTests
	}
	return rep, nil
}
