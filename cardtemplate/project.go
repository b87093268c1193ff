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
}

var modulePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)

// projectFile is one file of a generated project: its name there, and its skeleton.
type projectFile struct{ name, skeleton string }

func projectFiles(k Kind) []projectFile {
	return []projectFile{
		{"go.mod", "projects/common/go.mod.tmpl"},
		{"main.go", "projects/common/main.go.tmpl"},
		{"agent.go", "projects/" + string(k) + "/agent.go.tmpl"},
		{"README.md", "projects/common/README.md.tmpl"},
		{".gitignore", "projects/common/gitignore.tmpl"},
	}
}

// WriteProject writes a runnable Go agent project for the template t and its rendered card to
// dir: go.mod (module opts.Module, no dependencies beyond the standard library), main.go (serves
// the card and the A2A JSON-RPC binding), agent.go (the kind's logic), agent-card.json,
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
		URL: endpoint.String(), Path: endpoint.Path, Port: endpoint.Port(), Values: settings(t, opts.Values)}
	if data.Port == "" {
		data.Port = "8080"
	}
	data.KindDoc, data.Example = kindDoc(t.Kind)
	files := map[string][]byte{"agent-card.json": pretty.Bytes()}
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
	Module, Binary, Template, Kind, KindDoc, CardName, URL, Path, Port, Example string
	Values                                                                      map[string]string
}

func kindDoc(k Kind) (doc, example string) {
	switch k {
	case KindLLM:
		return "an LLM-wrapper agent: it asks an OpenAI-compatible chat/completions API", "What is the A2A protocol?"
	case KindTool:
		return "a tool agent: deterministic tools, one per skill", "calculate: (1 + 2) * 3"
	default:
		return "an echo agent: it replies with what it is sent", "hello, agent"
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
