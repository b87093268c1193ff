package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCardAndTemplateCommands: a card published, shown, updated (status, then content), its
// history, deleted; templates listed, shown and rendered — --json parsed, failures said.
func TestCardAndTemplateCommands(t *testing.T) {
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	srv, hs := startStack(t)
	t.Setenv("SOVEREIGN_REGISTRY", hs.URL)
	t.Setenv("SOVEREIGN_TOKEN", srv.AdminKey) // a verified developer's credential
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	card := func(desc string) string {
		return `{"name":"Tide Teller","description":"` + desc + `","version":"1.0.0",
			"supportedInterfaces":[{"url":"https://tide.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
			"capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
			"skills":[{"id":"tides","name":"Tides","description":"tide tables","tags":["sea"]}]}`
	}
	wantErr(t, "is empty", "card", "publish", "--card", write("empty.json", ""))
	wantErr(t, "is not JSON", "card", "publish", "--card", write("bad.json", "{"))
	wantErr(t, "[MISSING_FIELD]", "card", "publish", "--card", write("nameless.json", `{"description":"x"}`))
	var pub struct{ ID, Name, Status string }
	mustJSON(t, &pub, "card", "publish", "--card", write("v1.json", card("Tides for a harbour")), "--json")
	if !strings.HasPrefix(pub.ID, "agt_") || pub.Name != "Tide Teller" || pub.Status != "active" {
		t.Fatalf("card publish: %+v", pub)
	}
	var shown struct {
		ID, Description string
		Version         int
	}
	mustJSON(t, &shown, "card", "show", pub.ID, "--json")
	if shown.ID != pub.ID || shown.Version != 1 {
		t.Fatalf("card show: %+v", shown)
	}
	wantErr(t, "nothing to update", "card", "update", pub.ID)
	var upd struct {
		Status  string
		Version int
	}
	mustJSON(t, &upd, "card", "update", pub.ID, "--status", "inactive", "--json")
	if upd.Status != "inactive" {
		t.Fatalf("card update --status: %+v", upd)
	}
	if out, err := run(t, t.Context(), "card", "update", pub.ID, "--card", write("v2.json", card("Tides for every harbour"))); err != nil || !strings.Contains(out, "updated \"Tide Teller\"") {
		t.Fatalf("card update --card: %q %v", out, err)
	}
	var hist struct {
		Items []struct {
			Version int
			Change  string
		} `json:"items"`
	}
	mustJSON(t, &hist, "card", "history", pub.ID, "--json")
	if len(hist.Items) != 3 || hist.Items[0].Change != "created" {
		t.Fatalf("card history: %+v", hist)
	}
	if out, err := run(t, t.Context(), "card", "delete", pub.ID); err != nil || !strings.Contains(out, "deleted "+pub.ID) {
		t.Fatalf("card delete: %q %v", out, err)
	}
	wantErr(t, "NOT_FOUND", "card", "delete", pub.ID)

	var tl struct {
		Items []struct{ Name string } `json:"items"`
	}
	mustJSON(t, &tl, "template", "list", "--json")
	if len(tl.Items) < 3 || tl.Items[0].Name != "echo-agent" {
		t.Fatalf("template list: %+v", tl)
	}
	if out, err := run(t, t.Context(), "template", "list"); err != nil || !strings.Contains(out, "echo-agent\techo\ttrue\t") {
		t.Fatalf("template list rows: %q %v", out, err)
	}
	var ts struct {
		Name       string
		Parameters []any
	}
	mustJSON(t, &ts, "template", "show", "echo-agent", "--json")
	if ts.Name != "echo-agent" || len(ts.Parameters) == 0 {
		t.Fatalf("template show: %+v", ts)
	}
	var rendered map[string]any
	mustJSON(t, &rendered, "template", "render", "echo-agent", "--param", "name=Parrot", "--param", "url=https://parrot.example.com/a2a")
	if rendered["name"] != "Parrot" {
		t.Fatalf("template render: %v", rendered)
	}
	wantErr(t, "NOT_FOUND", "template", "show", "no-such-template")
	wantErr(t, "UNKNOWN_PARAMETER", "template", "render", "echo-agent", "--param", "colour=red")
}
