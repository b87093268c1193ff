package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// The engine asks for data.sovereign.authz.decision, {"allow": bool, "reason": string}, when
// the policy defines it (the embedded one does): one rule, one evaluation. A policy that only
// defines allow and reason is read through wrapperModule instead, which costs a little more.
const (
	decisionRef = "data.sovereign.authz.decision"
	allowRef    = "data.sovereign.authz.allow"
	wrapperFile = "sovereign_engine.rego"
	wrapperRef  = "data.sovereign_engine.decision"
)

// wrapperModule reads allow and reason from sovereign.authz in one evaluation. allow is true
// only when the policy says exactly true; reason is "" when the policy gives none.
const wrapperModule = `package sovereign_engine

default allow := false

allow if data.sovereign.authz.allow == true

default reason := ""

reason := data.sovereign.authz.reason if is_string(data.sovereign.authz.reason)

decision := {"allow": allow, "reason": reason}
`

// compiled is one loaded policy: its prepared queries and revision.
type compiled struct {
	decision rego.PreparedEvalQuery
	revision string
	// cacheable: decisions depend only on the cache key (see cacheable).
	cacheable bool
	// readsAmount: some rule reads input.context.amount (else the amount is left out of the
	// cache key, so decisions on varying amounts share one entry).
	readsAmount bool
}

// parserOptions parse Rego v1 (OPA 1.x syntax: `if`, `contains`), annotations included.
var parserOptions = ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true}

// dirFS is the file system of a policy directory.
func dirFS(dir string) fs.FS { return os.DirFS(dir) }

// isTestFile reports whether name holds Rego unit tests (run by RunTests, not loaded as policy).
func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// readSources reads the policy files of fsys (every *.rego below its root but the tests),
// with a digest of their names and contents.
func readSources(fsys fs.FS) (map[string]string, string, error) {
	return readRego(fsys, false)
}

// readRego reads the *.rego files below fsys's root, tests too if tests.
func readRego(fsys fs.FS, tests bool) (map[string]string, string, error) {
	files := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir // .git and editors' directories
			}
			return nil
		}
		name := d.Name()
		if path.Ext(name) != ".rego" || strings.HasPrefix(name, ".") || (!tests && isTestFile(name)) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("policy: read policies: %w", err)
	}
	return files, digestOf(files), nil
}

// digestOf is a digest of policy files' names and contents: the revision of a policy.
func digestOf(files map[string]string) string {
	names := slices.Sorted(maps.Keys(files))
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s", n, len(files[n]), files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// parseModules parses files as Rego v1.
func parseModules(files map[string]string) (map[string]*ast.Module, error) {
	mods := make(map[string]*ast.Module, len(files))
	var errs ast.Errors
	for name, src := range files {
		m, err := ast.ParseModuleWithOpts(name, src, parserOptions)
		if err != nil {
			var aerrs ast.Errors
			if errors.As(err, &aerrs) {
				errs = append(errs, aerrs...)
				continue
			}
			return nil, fmt.Errorf("policy: parse %s: %w", name, err)
		}
		mods[name] = m
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("policy: %w", errs)
	}
	return mods, nil
}

// compile parses and compiles files and prepares the engine's queries. It refuses a policy
// without a sovereign.authz.allow rule, so an emptied directory cannot turn into "deny all".
func compile(ctx context.Context, files map[string]string, revision string) (*compiled, error) {
	if _, ok := files[wrapperFile]; ok {
		return nil, fmt.Errorf("policy: %s is the engine's own module name", wrapperFile)
	}
	mods, err := parseModules(files)
	if err != nil {
		return nil, err
	}
	query := decisionRef
	if !definesRule(mods, decisionRef) {
		w, err := ast.ParseModuleWithOpts(wrapperFile, wrapperModule, parserOptions)
		if err != nil {
			return nil, err
		}
		mods[wrapperFile] = w
		query = wrapperRef
	}
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(mods); c.Failed() {
		return nil, fmt.Errorf("policy: compile: %w", c.Errors)
	}
	if len(c.GetRulesExact(ast.MustParseRef(allowRef))) == 0 {
		return nil, fmt.Errorf("policy: no rule %s in the policies", allowRef)
	}
	store := inmem.New()
	prepare := func(q string) (rego.PreparedEvalQuery, error) {
		return rego.New(rego.Query(q), rego.Compiler(c), rego.Store(store)).PrepareForEval(ctx)
	}
	p := &compiled{revision: revision, cacheable: cacheable(c), readsAmount: readsContext(c, "amount")}
	if p.decision, err = prepare(query); err != nil {
		return nil, fmt.Errorf("policy: prepare %s: %w", query, err)
	}
	return p, nil
}

// definesRule reports whether a module defines the rule at ref (data.pkg.name).
func definesRule(mods map[string]*ast.Module, ref string) bool {
	want := ast.MustParseRef(ref)
	for _, m := range mods {
		for _, r := range m.Rules {
			if r.Module != nil && r.Path().Equal(want) {
				return true
			}
		}
	}
	return false
}
