package cardtemplate

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/sovereign-stack/sovereign/agentcard"
)

//go:embed projects
var projectFS embed.FS

// ProjectOptions configure WriteProject.
type ProjectOptions struct {
	// Module is the module path of the project's go.mod (default "example.com/" and the
	// directory's name).
	Module string
	// Values are the parameter values the card was rendered with (as Resolve returns them).
	// Skeletons that need settings take their defaults from them, falling back to the
	// template's defaults: the llm skeleton its model, base_url and system_prompt.
	Values map[string]any
	// SDKVersion is the version of the Sovereign module (SDKModule) the project requires
	// ("v0.0.0" when empty: then SDKDir is needed to build it).
	SDKVersion string
	// SDKDir, when set, is a local copy of the Sovereign module the project's go.mod replaces
	// the required version with (a replace directive).
	SDKDir string
}

// SDKModule is the module path of the Sovereign SDK the generated projects build on.
const SDKModule = "github.com/sovereign-stack/sovereign"

// GoVersion is the go directive of the generated projects: the Sovereign module's own.
const GoVersion = "1.26.0"

var sdkVersionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)

var modulePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)

// projectFile is one file of a generated project: its name there, and its skeleton.
type projectFile struct{ name, skeleton string }

func projectFiles(k Kind) []projectFile {
	return []projectFile{
		{"go.mod", "projects/common/go.mod.tmpl"},
		{"main.go", "projects/common/main.go.tmpl"},
		{"main_test.go", "projects/common/main_test.go.tmpl"},
		{"agent.go", "projects/" + string(k) + "/agent.go.tmpl"},
		{"README.md", "projects/common/README.md.tmpl"},
		{".gitignore", "projects/common/gitignore.tmpl"},
	}
}

// WriteProject writes a runnable Go agent project for the template t and its rendered card to
// dir, built on the Sovereign SDK: go.mod (module opts.Module, requiring SDKModule at
// opts.SDKVersion, replaced by opts.SDKDir when set, whose go.sum seeds the project's; run `go
// mod tidy` before building),
// main.go (runs an agentvault.Agent: the card and every binding it lists), main_test.go (runs
// the agent and sends it the example), agent.go (the kind's a2a.Executor), agent-card.json,
// README.md and .gitignore.
//
// dir must not exist or be an empty directory (else DIR_NOT_EMPTY). The project is written to a
// temporary directory beside dir and renamed into place, so a failure leaves nothing behind.
// The card must be valid (agentcard.Parse's error passes through) and have a JSONRPC interface
// with an http(s) URL (else NO_JSONRPC_INTERFACE).
func WriteProject(dir string, t Template, card []byte, opts ProjectOptions) error {
	if !slices.Contains(Kinds, t.Kind) {
		return fieldErr(ErrInvalidKind, "kind", "")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("cardtemplate: project directory %q: %w", dir, err)
	}
	binary := binaryName(filepath.Base(abs))
	module := opts.Module
	if module == "" {
		module = "example.com/" + binary
	}
	if len(module) > 200 || !modulePattern.MatchString(module) || slices.Contains(strings.Split(module, "/"), "..") {
		return fieldErr(ErrInvalidModule, "module", fmt.Sprintf("the module path %q is not valid; use one like example.com/me/agent", module))
	}
	parsed, err := agentcard.Parse(context.Background(), card, nil)
	if err != nil {
		return err
	}
	var endpoint *url.URL
	for _, in := range parsed.Card.GetSupportedInterfaces() {
		u, err := url.Parse(in.GetUrl())
		if in.GetProtocolBinding() == "JSONRPC" && err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			endpoint = u
			break
		}
	}
	if endpoint == nil {
		return ErrNoJSONRPC
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, card, "", "  "); err != nil {
		return fieldErr(ErrInvalidCard, "card", "the card is not JSON")
	}
	pretty.WriteByte('\n')

	data := projectData{Module: module, Binary: binary, Template: t.Name, Kind: string(t.Kind), CardName: parsed.Card.GetName(),
		URL: endpoint.String(), Path: endpoint.Path, Port: endpoint.Port(), Values: settings(t, opts.Values),
		GoVersion: GoVersion, SDKVersion: opts.SDKVersion, SDKDir: opts.SDKDir}
	if data.SDKVersion == "" {
		data.SDKVersion = "v0.0.0"
	}
	if !sdkVersionPattern.MatchString(data.SDKVersion) {
		return fieldErr(ErrInvalidModule, "sdk_version", fmt.Sprintf("the SDK version %q is not a module version such as v1.2.3", data.SDKVersion))
	}
	if data.Port == "" {
		data.Port = "8080"
	}
	data.KindDoc, data.Example, data.ExampleAnswer = kindDoc(t.Kind)
	files := map[string][]byte{"agent-card.json": pretty.Bytes()}
	if opts.SDKDir != "" {
		// The SDK's requirements and checksums are the project's dependencies' too: the
		// project builds at once, offline, and `go mod tidy` prunes what it does not use.
		mod, err := os.ReadFile(filepath.Join(opts.SDKDir, "go.mod"))
		if err != nil {
			return fmt.Errorf("cardtemplate: the SDK at %s: %w", opts.SDKDir, err)
		}
		data.SDKRequires = requirements(mod)
		if sum, err := os.ReadFile(filepath.Join(opts.SDKDir, "go.sum")); err == nil {
			files["go.sum"] = sum
		}
	}
	for _, f := range projectFiles(t.Kind) {
		b, err := renderSkeleton(f.skeleton, data)
		if err != nil {
			return err
		}
		files[f.name] = b
	}
	return writeAtomically(abs, files)
}

// projectData is what the skeletons are executed with.
type projectData struct {
	Module, Binary, Template, Kind, KindDoc, CardName, URL, Path, Port, Example, ExampleAnswer string
	GoVersion, SDKVersion, SDKDir                                                              string
	SDKRequires                                                                                []string
	Values                                                                                     map[string]string
}

// requirements are the "path version" lines of a go.mod's require directives, each marked
// indirect (the project imports the SDK, not them).
func requirements(mod []byte) []string {
	var out []string
	block := false
	for _, line := range strings.Split(string(mod), "\n") {
		line, _, _ = strings.Cut(line, "//")
		f := strings.Fields(line)
		switch {
		case block && len(f) == 1 && f[0] == ")":
			block = false
		case block && len(f) == 2:
			out = append(out, f[0]+" "+f[1])
		case len(f) == 2 && f[0] == "require" && f[1] == "(":
			block = true
		case len(f) == 3 && f[0] == "require":
			out = append(out, f[1]+" "+f[2])
		}
	}
	return out
}

// kindDoc describes a kind, with an example message and the answer the generated test expects
// (the llm test's stand-in model prefixes "model says: ").
func kindDoc(k Kind) (doc, example, answer string) {
	switch k {
	case KindLLM:
		return "an LLM-wrapper agent: it asks an OpenAI-compatible chat/completions API", "What is the A2A protocol?",
			"model says: What is the A2A protocol?"
	case KindTool:
		return "a tool agent: deterministic tools, one per skill", "calculate: (1 + 2) * 3", "9"
	default:
		return "an echo agent: it replies with what it is sent", "hello, agent", "hello, agent"
	}
}

// settings are the string forms of the template's defaults overlaid with values.
func settings(t Template, values map[string]any) map[string]string {
	out := map[string]string{}
	for _, p := range t.Parameters {
		if p.Default != nil {
			if v, err := coerce(p, p.Default); err == nil {
				out[p.Name] = stringForm(v)
			}
		}
	}
	for k, v := range values {
		if v != nil {
			out[k] = stringForm(v)
		}
	}
	return out
}

var skeletonFuncs = template.FuncMap{"quote": strconv.Quote}

func renderSkeleton(name string, data projectData) ([]byte, error) {
	src, err := fs.ReadFile(projectFS, name)
	if err != nil {
		return nil, fmt.Errorf("cardtemplate: skeleton %s: %w", name, err)
	}
	tpl, err := template.New(name).Delims("<%", "%>").Funcs(skeletonFuncs).Option("missingkey=zero").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("cardtemplate: skeleton %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("cardtemplate: skeleton %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// binaryName makes a command name from a directory name: lowercase letters, digits, '-' and
// '_' ("agent" when nothing is left).
func binaryName(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ' || r == '.':
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-_")
	switch {
	case s == "":
		return "agent"
	case s[0] < 'a' || s[0] > 'z':
		return "agent-" + s
	}
	return s
}

// writeAtomically writes files into a fresh temporary directory beside dir and renames it to
// dir, which must not exist or be empty.
func writeAtomically(dir string, files map[string][]byte) error {
	switch entries, err := os.ReadDir(dir); {
	case err == nil && len(entries) > 0:
		return ErrDirNotEmpty.With("dir", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return ErrDirNotEmpty.With("dir", dir)
		}
		return fmt.Errorf("cardtemplate: project directory: %w", err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cardtemplate: project directory: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("cardtemplate: project directory: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("cardtemplate: project directory: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return fmt.Errorf("cardtemplate: write %s: %w", name, err)
		}
	}
	// An empty directory in the way is replaced; one that gained files meanwhile is not.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ErrDirNotEmpty.With("dir", dir)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("cardtemplate: move project into place: %w", err)
	}
	done = true
	return nil
}
