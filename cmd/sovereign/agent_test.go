package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registryhttp"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func readCard(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "agent-card.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agentcard.Parse(context.Background(), b, nil); err != nil {
		t.Fatalf("agent-card.json: %v", err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func TestAgentNew_BuiltinOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my-llm")
	out, err := run(t, context.Background(), "agent", "new", "--template", "llm-agent", "--param", "name=Helper",
		"--param", "model=llama3", "--param", "tags=a, b", "--module", "example.com/me/helper", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "cd "+dir+" && go run .") {
		t.Fatalf("output does not say how to run it:\n%s", out)
	}
	card := readCard(t, dir)
	if card["name"] != "Helper" {
		t.Fatalf("card name = %v", card["name"])
	}
	agentGo, _ := os.ReadFile(filepath.Join(dir, "agent.go"))
	if !strings.Contains(string(agentGo), `defaultModel        = "llama3"`) {
		t.Fatalf("agent.go does not default to the model given:\n%s", agentGo)
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	root, _ := filepath.Abs("../..") // run from this checkout, the project builds on it
	if !strings.HasPrefix(string(mod), "module example.com/me/helper\n") ||
		!strings.Contains(string(mod), "require github.com/sovereign-stack/sovereign v0.0.0\n") ||
		!strings.Contains(string(mod), "replace github.com/sovereign-stack/sovereign => \""+root+"\"") {
		t.Fatalf("go.mod = %s", mod)
	}
	mainGo, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if !strings.Contains(string(mainGo), "agentvault.Agent{") {
		t.Fatalf("main.go does not run an agentvault.Agent:\n%s", mainGo)
	}
}

func TestAgentNew_Errors(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no template", []string{"agent", "new", filepath.Join(t.TempDir(), "a")}, "--template is required"},
		{"unknown template", []string{"agent", "new", "--template", "nope", filepath.Join(t.TempDir(), "a")}, "no built-in template"},
		{"not an SDK", []string{"agent", "new", "--template", "echo-agent", "--sdk", t.TempDir(), filepath.Join(t.TempDir(), "a")}, "--sdk"},
		{"unknown param", []string{"agent", "new", "--template", "echo-agent", "--param", "colour=red", filepath.Join(t.TempDir(), "a")}, "UNKNOWN_PARAMETER"},
		{"bad param syntax", []string{"agent", "new", "--template", "echo-agent", "--param", "name", filepath.Join(t.TempDir(), "a")}, "want key=value"},
		{"bad param value", []string{"agent", "new", "--template", "echo-agent", "--param", "url=nope", filepath.Join(t.TempDir(), "a")}, "INVALID_PARAMETER"},
		{"dir not empty", []string{"agent", "new", "--template", "echo-agent", full}, "DIR_NOT_EMPTY"},
		{"bad module", []string{"agent", "new", "--template", "echo-agent", "--module", "a b", filepath.Join(t.TempDir(), "a")}, "INVALID_MODULE_PATH"},
		{"bad registry", []string{"agent", "new", "--template", "echo-agent", "--registry", "ftp://x", filepath.Join(t.TempDir(), "a")}, "not an http(s) URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, context.Background(), c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want one containing %q\n%s", err, c.want, out)
			}
		})
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Fatalf("the non-empty directory was changed: %v", entries)
	}
}

func TestAgentNew_FromRegistry(t *testing.T) {
	db := storetest.SQLite(t)
	svc, err := registry.NewTemplates(registry.TemplatesConfig{Store: registrysql.NewTemplates(db), Authz: policy.New()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "test", "0")
	(&registryhttp.Templates{Service: svc}).Register(api)
	srv := httptest.NewServer(httpapi.Handler(mux, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.NewMetrics(prometheus.NewRegistry())))
	defer srv.Close()

	dir := filepath.Join(t.TempDir(), "tools")
	out, err := run(t, context.Background(), "agent", "new", "--registry", srv.URL, "--template", "tool-agent",
		"--param", "name=Remote Tools", "--param", "url=http://localhost:9100/rpc", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	card := readCard(t, dir)
	if card["name"] != "Remote Tools" {
		t.Fatalf("card = %v", card)
	}
	_, err = run(t, context.Background(), "agent", "new", "--registry", srv.URL, "--template", "absent", filepath.Join(t.TempDir(), "x"))
	if err == nil || !strings.Contains(err.Error(), "TEMPLATE_NOT_FOUND") {
		t.Fatalf("absent template: %v", err)
	}
}
