package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// govModules are the modules added to the policy at run time (Engine.SetModules: the ledger's
// governance puts them in force) and the source they were added to.
type govModules struct {
	// files are the modules in force, name → source; tried is the digest of the last set
	// SetModules was asked for (a set that does not compile is not compiled again).
	files map[string]string
	tried string
	// base and baseRev are the policy source's files and revision (the embedded policy, the
	// directory's or the bundle's), as last loaded.
	base    map[string]string
	baseRev string
}

// compileBase compiles the policy source's files with the modules added at run time, and
// remembers the files as the base SetModules adds to. e.reloadMu must be held.
func (e *Engine) compileBase(ctx context.Context, files map[string]string, revision string) (*compiled, error) {
	p, err := compileWithModules(ctx, files, revision, e.modules.files)
	if err == nil {
		e.modules.base, e.modules.baseRev = files, revision
	}
	return p, err
}

// compileWithModules compiles files with modules added (a module replaces the file of the same
// name); the revision then names both.
func compileWithModules(ctx context.Context, files map[string]string, revision string, modules map[string]string) (*compiled, error) {
	if len(modules) == 0 {
		return compile(ctx, files, revision)
	}
	all := maps.Clone(files)
	maps.Copy(all, modules)
	return compile(ctx, all, revision+"+modules-"+digestOf(modules)[:8])
}

// base is the policy source's files and revision (the embedded policy until a directory or a
// bundle loaded). e.reloadMu must be held.
func (e *Engine) base() (map[string]string, string, error) {
	if e.modules.base != nil {
		return e.modules.base, e.modules.baseRev, nil
	}
	return readSources(embeddedFS())
}

// SetModules puts modules (file name → Rego source) in force on top of the policy's source, in
// place of the ones an earlier call set: a module replaces the policy file of the same name at
// the root of the source, or adds one. The swap is atomic, like a reload; a directory or bundle
// reloaded later keeps the modules. A set that does not compile keeps the policy in force and
// is reported (LastError) — and not compiled again until the set changes. Governance calls it
// in every replica with the modules the ledger holds, so every replica decides alike.
func (e *Engine) SetModules(ctx context.Context, modules map[string]string) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	digest := digestOf(modules)
	if digest == e.modules.tried || (len(modules) == 0 && len(e.modules.files) == 0) {
		return nil
	}
	e.modules.tried = digest
	files, rev, err := e.base()
	if err != nil {
		return err
	}
	p, err := compileWithModules(ctx, files, rev, modules)
	if err == nil {
		e.modules.files = maps.Clone(modules)
	}
	return e.install(p, err, len(files)+len(modules), "modules", strings.Join(slices.Sorted(maps.Keys(modules)), ","))
}

// ErrModuleCompile wraps why a module checked by CheckModule does not compile with the policy.
var ErrModuleCompile = errors.New("policy: the module does not compile with the policy")

// CheckModule compiles the policy in force with modules and then the module name (source src)
// added, and runs the Rego unit tests tests against it (only those: the policy's own tests may
// well fail under a module that changes a decision). An error wrapping ErrModuleCompile means
// the policy with the module does not compile (or has no sovereign.authz.allow rule); ErrNoTests
// that tests defines no test_* rule; otherwise the report says which tests failed.
func (e *Engine) CheckModule(ctx context.Context, modules map[string]string, name, src, tests string) (*TestReport, error) {
	e.reloadMu.Lock()
	base, rev, err := e.base()
	e.reloadMu.Unlock()
	if err != nil {
		return nil, err
	}
	files := maps.Clone(base)
	maps.Copy(files, modules)
	files[name] = src
	if _, err := compile(ctx, files, rev); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModuleCompile, err)
	}
	files[strings.TrimSuffix(name, ".rego")+"_test.rego"] = tests
	mods, err := parseModules(files)
	if err != nil {
		return nil, fmt.Errorf("%w: tests: %w", ErrModuleCompile, err)
	}
	return runTests(ctx, mods)
}
