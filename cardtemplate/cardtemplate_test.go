package cardtemplate_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/cardtemplate"
)

// minimal is a small valid template: every parameter type appears in its card.
func minimal() cardtemplate.Template {
	return cardtemplate.Template{
		Name:        "my-agent",
		Description: "A test template.",
		Kind:        cardtemplate.KindEcho,
		Parameters: []cardtemplate.Param{
			{Name: "name", Type: cardtemplate.TypeString, Required: true},
			{Name: "url", Type: cardtemplate.TypeURL, Default: "http://localhost:9000/a2a"},
			{Name: "port", Type: cardtemplate.TypeInteger, Default: 9000.0},
			{Name: "ratio", Type: cardtemplate.TypeNumber, Default: 0.5},
			{Name: "streaming", Type: cardtemplate.TypeBoolean, Default: false},
			{Name: "tags", Type: cardtemplate.TypeStringList, Default: []any{"a", "b"}},
			{Name: "mode", Type: cardtemplate.TypeEnum, Enum: []string{"text/plain", "application/json"}, Default: "text/plain"},
			{Name: "docs", Type: cardtemplate.TypeURL},
		},
		Card: json.RawMessage(`{
			"name": "${name}",
			"description": "Port ${port}, ratio ${ratio}, tags ${tags}, streaming ${streaming}, docs '${docs}', literal $${name} and $5",
			"version": "1.0.0",
			"documentationUrl": "${docs}",
			"supportedInterfaces": [{"url": "${url}", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
			"capabilities": {"streaming": "${streaming}"},
			"defaultInputModes": ["${mode}"],
			"defaultOutputModes": ["text/plain"],
			"skills": [{"id": "s1", "name": "Skill", "description": "does it", "tags": "${tags}"}]
		}`),
	}
}

func card(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if _, err := agentcard.Parse(context.Background(), b, nil); err != nil {
		t.Fatalf("rendered card does not parse: %v\n%s", err, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func wantCode(t *testing.T, err error, code, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if field != "" && e.Details["field"] != field {
		t.Fatalf("error %v: field = %v, want %s", err, e.Details["field"], field)
	}
}

func TestRender_SubstitutesTypedValues(t *testing.T) {
	b, err := cardtemplate.Render(minimal(), map[string]any{"name": "Ada", "tags": []any{"x", "y"}, "streaming": true, "port": 8080.0})
	if err != nil {
		t.Fatal(err)
	}
	m := card(t, b)
	if m["name"] != "Ada" {
		t.Errorf("name = %v", m["name"])
	}
	if got := m["capabilities"].(map[string]any)["streaming"]; got != true {
		t.Errorf("streaming = %#v, want the boolean true", got)
	}
	tags := m["skills"].([]any)[0].(map[string]any)["tags"]
	if got, _ := json.Marshal(tags); string(got) != `["x","y"]` {
		t.Errorf("tags = %s, want an array", got)
	}
	want := "Port 8080, ratio 0.5, tags x, y, streaming true, docs '', literal ${name} and $5"
	if m["description"] != want {
		t.Errorf("description = %q, want %q", m["description"], want)
	}
	if _, ok := m["documentationUrl"]; ok {
		t.Errorf("documentationUrl is %v; an optional parameter without value must drop the member", m["documentationUrl"])
	}
}

func TestRender_InjectionStaysAString(t *testing.T) {
	evil := `"},"x":"`
	b, err := cardtemplate.Render(minimal(), map[string]any{"name": evil})
	if err != nil {
		t.Fatal(err)
	}
	m := card(t, b)
	if m["name"] != evil {
		t.Fatalf("name = %q, want %q", m["name"], evil)
	}
	if _, ok := m["x"]; ok {
		t.Fatal("the value injected a member")
	}
}

func TestRender_Errors(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		code   string
		field  string
	}{
		{"unknown parameter", map[string]any{"name": "a", "nope": "x"}, "UNKNOWN_PARAMETER", "nope"},
		{"missing required", map[string]any{}, "MISSING_PARAMETER", "name"},
		{"string wants string", map[string]any{"name": 5.0}, "INVALID_PARAMETER", "name"},
		{"url scheme", map[string]any{"name": "a", "url": "ftp://x/y"}, "INVALID_PARAMETER", "url"},
		{"url relative", map[string]any{"name": "a", "url": "/a2a"}, "INVALID_PARAMETER", "url"},
		{"integer fraction", map[string]any{"name": "a", "port": 1.5}, "INVALID_PARAMETER", "port"},
		{"integer string", map[string]any{"name": "a", "port": "80"}, "INVALID_PARAMETER", "port"},
		{"integer too big", map[string]any{"name": "a", "port": 1e300}, "INVALID_PARAMETER", "port"},
		{"number wants number", map[string]any{"name": "a", "ratio": true}, "INVALID_PARAMETER", "ratio"},
		{"boolean string", map[string]any{"name": "a", "streaming": "true"}, "INVALID_PARAMETER", "streaming"},
		{"list wants array", map[string]any{"name": "a", "tags": "x"}, "INVALID_PARAMETER", "tags"},
		{"list of strings", map[string]any{"name": "a", "tags": []any{"x", 1.0}}, "INVALID_PARAMETER", "tags"},
		{"enum value", map[string]any{"name": "a", "mode": "text/html"}, "INVALID_PARAMETER", "mode"},
		{"too long", map[string]any{"name": strings.Repeat("a", cardtemplate.MaxValueLen+1)}, "INVALID_PARAMETER", "name"},
		{"invalid card passes through", map[string]any{"name": ""}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := cardtemplate.Render(minimal(), c.values)
			if c.code == "" {
				e, ok := apperr.As(err)
				if !ok || e.Kind != apperr.Invalid || strings.HasSuffix(e.Code, "PARAMETER") {
					t.Fatalf("error = %v, want agentcard's validation error", err)
				}
				return
			}
			wantCode(t, err, c.code, c.field)
		})
	}
}

func TestValidate_Errors(t *testing.T) {
	with := func(f func(*cardtemplate.Template)) cardtemplate.Template {
		tp := minimal()
		f(&tp)
		return tp
	}
	param := func(i int, f func(*cardtemplate.Param)) cardtemplate.Template {
		return with(func(tp *cardtemplate.Template) { f(&tp.Parameters[i]) })
	}
	cases := []struct {
		name  string
		t     cardtemplate.Template
		code  string
		field string
	}{
		{"bad name", with(func(tp *cardtemplate.Template) { tp.Name = "My Agent" }), "INVALID_TEMPLATE_NAME", "name"},
		{"short name", with(func(tp *cardtemplate.Template) { tp.Name = "a" }), "INVALID_TEMPLATE_NAME", "name"},
		{"no description", with(func(tp *cardtemplate.Template) { tp.Description = "" }), "INVALID_DESCRIPTION", "description"},
		{"bad kind", with(func(tp *cardtemplate.Template) { tp.Kind = "python" }), "INVALID_KIND", "kind"},
		{"too many parameters", with(func(tp *cardtemplate.Template) {
			for i := range cardtemplate.MaxParams {
				tp.Parameters = append(tp.Parameters, cardtemplate.Param{Name: "p" + strings.Repeat("x", i), Type: cardtemplate.TypeString})
			}
		}), "TOO_MANY_PARAMETERS", "parameters"},
		{"bad param name", param(0, func(p *cardtemplate.Param) { p.Name = "Name" }), "INVALID_PARAMETER_DEFINITION", "parameters[0].name"},
		{"duplicate param", param(1, func(p *cardtemplate.Param) { p.Name = "name" }), "INVALID_PARAMETER_DEFINITION", "parameters[1].name"},
		{"bad type", param(0, func(p *cardtemplate.Param) { p.Type = "date" }), "INVALID_PARAMETER_DEFINITION", "parameters[0].type"},
		{"default of wrong type", param(2, func(p *cardtemplate.Param) { p.Default = "9000" }), "INVALID_PARAMETER_DEFINITION", "parameters[2].default"},
		{"default not in enum", param(6, func(p *cardtemplate.Param) { p.Default = "text/html" }), "INVALID_PARAMETER_DEFINITION", "parameters[6].default"},
		{"enum without values", param(6, func(p *cardtemplate.Param) { p.Enum, p.Default = nil, nil }), "INVALID_PARAMETER_DEFINITION", "parameters[6].enum"},
		{"duplicate enum values", param(6, func(p *cardtemplate.Param) { p.Enum = []string{"text/plain", "text/plain"} }), "INVALID_PARAMETER_DEFINITION", "parameters[6].enum"},
		{"enum on a string", param(0, func(p *cardtemplate.Param) { p.Enum = []string{"a"} }), "INVALID_PARAMETER_DEFINITION", "parameters[0].enum"},
		{"required with default", param(0, func(p *cardtemplate.Param) { p.Default = "x" }), "INVALID_PARAMETER_DEFINITION", "parameters[0].default"},
		{"card not an object", with(func(tp *cardtemplate.Template) { tp.Card = json.RawMessage(`["x"]`) }), "INVALID_TEMPLATE_CARD", "card"},
		{"card not JSON", with(func(tp *cardtemplate.Template) { tp.Card = json.RawMessage(`{"name":`) }), "INVALID_TEMPLATE_CARD", "card"},
		{"card too large", with(func(tp *cardtemplate.Template) {
			tp.Card = json.RawMessage(`{"name":"` + strings.Repeat("x", cardtemplate.MaxCardSize) + `"}`)
		}), "TEMPLATE_CARD_TOO_LARGE", "card"},
		{"malformed placeholder", with(func(tp *cardtemplate.Template) {
			tp.Card = json.RawMessage(strings.Replace(string(tp.Card), `"1.0.0"`, `"${Version}"`, 1))
		}), "INVALID_PLACEHOLDER", "card.version"},
		{"unterminated placeholder", with(func(tp *cardtemplate.Template) {
			tp.Card = json.RawMessage(strings.Replace(string(tp.Card), `"1.0.0"`, `"${version"`, 1))
		}), "INVALID_PLACEHOLDER", "card.version"},
		{"undeclared placeholder", with(func(tp *cardtemplate.Template) {
			tp.Card = json.RawMessage(strings.Replace(string(tp.Card), `"1.0.0"`, `"${version}"`, 1))
		}), "UNDECLARED_PLACEHOLDER", "card.version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, cardtemplate.Validate(c.t), c.code, c.field)
		})
	}
	t.Run("invalid card passes agentcard's error through", func(t *testing.T) {
		tp := with(func(tp *cardtemplate.Template) {
			tp.Card = json.RawMessage(strings.Replace(string(tp.Card), `"skills"`, `"skillz"`, 1))
		})
		err := cardtemplate.Validate(tp)
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.Invalid {
			t.Fatalf("error = %v, want an Invalid error from agentcard", err)
		}
	})
	if err := cardtemplate.Validate(minimal()); err != nil {
		t.Fatalf("minimal template: %v", err)
	}
}

func TestBuiltins_Validate(t *testing.T) {
	bs := cardtemplate.Builtins()
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
		if !b.Builtin || b.OwnerID != "" || b.Version != 1 {
			t.Errorf("%s: Builtin %v, OwnerID %q, Version %d", b.Name, b.Builtin, b.OwnerID, b.Version)
		}
		if err := cardtemplate.Validate(b); err != nil {
			t.Errorf("%s: %v", b.Name, err)
		}
		if _, err := cardtemplate.Render(b, nil); err != nil {
			t.Errorf("%s renders with defaults: %v", b.Name, err)
		}
	}
	if got := strings.Join(names, ","); got != "echo-agent,llm-agent,tool-agent" {
		t.Fatalf("built-ins = %s", got)
	}
	if _, ok := cardtemplate.Builtin("llm-agent"); !ok {
		t.Fatal("Builtin(llm-agent) not found")
	}
}

func TestParseValue(t *testing.T) {
	tp := minimal()
	for _, c := range []struct {
		param, in string
		want      any
	}{
		{"port", "8080", int64(8080)}, {"ratio", "2.5", 2.5}, {"streaming", "true", true},
		{"tags", " a, b ,,c", []string{"a", "b", "c"}}, {"name", "x=y", "x=y"}, {"mode", "application/json", "application/json"},
	} {
		p, _ := tp.Param(c.param)
		got, err := cardtemplate.ParseValue(p, c.in)
		if err != nil {
			t.Fatalf("%s=%s: %v", c.param, c.in, err)
		}
		if g, _ := json.Marshal(got); string(g) != string(must(json.Marshal(c.want))) {
			t.Errorf("%s=%s: got %s", c.param, c.in, g)
		}
	}
	for _, c := range [][2]string{{"port", "80.5"}, {"ratio", "x"}, {"streaming", "yes please"}, {"mode", "text/html"}, {"url", "nope"}} {
		p, _ := tp.Param(c[0])
		_, err := cardtemplate.ParseValue(p, c[1])
		wantCode(t, err, "INVALID_PARAMETER", c[0])
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestWriteProject_Refuses(t *testing.T) {
	echo, _ := cardtemplate.Builtin("echo-agent")
	good, err := cardtemplate.Render(echo, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("non-empty directory", func(t *testing.T) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "agent")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantCode(t, cardtemplate.WriteProject(dir, echo, good, cardtemplate.ProjectOptions{}), "DIR_NOT_EMPTY", "")
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("the directory was changed: %v", entries)
		}
		if all, _ := os.ReadDir(parent); len(all) != 1 {
			t.Fatalf("something was left beside it: %v", all)
		}
	})
	t.Run("a file in the way", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "agent")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		wantCode(t, cardtemplate.WriteProject(path, echo, good, cardtemplate.ProjectOptions{}), "DIR_NOT_EMPTY", "")
	})
	cases := []struct {
		name string
		card []byte
		opts cardtemplate.ProjectOptions
		kind cardtemplate.Kind
		code string
	}{
		{"bad module", good, cardtemplate.ProjectOptions{Module: "example.com/../x"}, "", "INVALID_MODULE_PATH"},
		{"module with spaces", good, cardtemplate.ProjectOptions{Module: "my agent"}, "", "INVALID_MODULE_PATH"},
		{"bad kind", good, cardtemplate.ProjectOptions{}, "rust", "INVALID_KIND"},
		{"no JSONRPC interface", []byte(strings.Replace(string(good), `"JSONRPC"`, `"GRPC"`, 1)), cardtemplate.ProjectOptions{}, "", "NO_JSONRPC_INTERFACE"},
		{"invalid card", []byte(`{"name":"x"}`), cardtemplate.ProjectOptions{}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := echo
			if c.kind != "" {
				tp.Kind = c.kind
			}
			parent := t.TempDir()
			err := cardtemplate.WriteProject(filepath.Join(parent, "agent"), tp, c.card, c.opts)
			if c.code != "" {
				wantCode(t, err, c.code, "")
			} else if _, ok := apperr.As(err); !ok {
				t.Fatalf("error = %v, want an application error", err)
			}
			if all, _ := os.ReadDir(parent); len(all) != 0 {
				t.Fatalf("a failed WriteProject left %v", all)
			}
		})
	}
	t.Run("an empty directory is fine", func(t *testing.T) {
		dir := t.TempDir()
		if err := cardtemplate.WriteProject(dir, echo, good, cardtemplate.ProjectOptions{Module: "example.com/me/echo"}); err != nil {
			t.Fatal(err)
		}
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil || !strings.HasPrefix(string(mod), "module example.com/me/echo\n") {
			t.Fatalf("go.mod = %q, %v", mod, err)
		}
		for _, f := range []string{"main.go", "agent.go", "agent-card.json", "README.md", ".gitignore"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	})
}
