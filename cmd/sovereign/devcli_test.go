package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustJSON runs the command, which must succeed and print one JSON value, into v.
func mustJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := run(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v --json is not JSON: %v\n%s", args, err, out)
	}
}

// wantErr runs the command, which must fail with an error containing want.
func wantErr(t *testing.T, want string, args ...string) {
	t.Helper()
	if out, err := run(t, context.Background(), args...); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%v: %v (want an error with %q)\n%s", args, err, want, out)
	}
}

// TestDeveloperDay drives a developer's day on the command line: sign up, verify, log in, who am
// I, a bootstrap token, an agent registered with it elsewhere, the agent's list, show, card and
// balance, the agent's own balance and history (--as), API keys, and logout — every --json answer
// parsed, and the failures a developer meets said with their code.
func TestDeveloperDay(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	t.Setenv("AGENTVAULT_KEYS_FILE", filepath.Join(t.TempDir(), "keys.json"))
	srv, hs := startStack(t)
	t.Setenv("SOVEREIGN_REGISTRY", hs.URL) // every client command reads it
	ctx := context.Background()

	t.Setenv("SOVEREIGN_PASSWORD", "short")
	wantErr(t, "PASSWORD_TOO_SHORT", "register", "--email", "ada@example.com", "--name", "Ada")
	wantErr(t, "--email and --name are required", "register", "--email", "ada@example.com")
	t.Setenv("SOVEREIGN_PASSWORD", "correct horse battery staple")
	var reg struct {
		Developer struct {
			ID, Email string
		} `json:"developer"`
		RecoveryKeys []string `json:"recovery_keys"`
	}
	mustJSON(t, &reg, "register", "--email", "ada@example.com", "--name", "Ada Lovelace", "--json")
	if reg.Developer.Email != "ada@example.com" || len(reg.RecoveryKeys) != 3 {
		t.Fatalf("register: %+v", reg)
	}
	wantErr(t, "EMAIL_TAKEN", "register", "--email", "ada@example.com", "--name", "Ada")
	wantErr(t, "no developer credential", "whoami")
	if out, err := run(t, ctx, "login", "--email", "ada@example.com"); err != nil || !strings.Contains(out, "logged in") {
		t.Fatalf("login: %q %v", out, err)
	}
	var me map[string]any
	mustJSON(t, &me, "whoami", "--json")
	if me["email"] != "ada@example.com" || me["email_verified"] != false || me["registry"] != hs.URL {
		t.Fatalf("whoami: %v", me)
	}
	if out, _ := run(t, ctx, "whoami"); !strings.Contains(out, "NOT verified") || !strings.Contains(out, "sovereign developer verify") {
		t.Fatalf("whoami of an unverified developer: %q", out)
	}
	wantErr(t, "FORBIDDEN", "bootstrap-token", "create") // not verified yet
	if _, err := srv.Accounts().VerifyEmailDirect(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}

	var bt struct{ ID, Token string }
	mustJSON(t, &bt, "bootstrap-token", "create", "--json")
	if !strings.HasPrefix(bt.Token, "bst_") {
		t.Fatalf("bootstrap token: %+v", bt)
	}
	var outstanding struct{ Items []struct{ ID string } }
	mustJSON(t, &outstanding, "bootstrap-token", "list", "--json")
	if len(outstanding.Items) != 1 || outstanding.Items[0].ID != bt.ID {
		t.Fatalf("bootstrap tokens: %+v", outstanding)
	}
	card := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(card, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "is empty", "agent", "register", "--card", card, "--bootstrap-token", bt.Token)
	if err := os.WriteFile(card, []byte(`{"name":"Day Agent","description":"Registered with a bootstrap token","version":"1.0.0",
		"supportedInterfaces":[{"url":"https://day.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
		"capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
		"skills":[{"id":"day","name":"Day","description":"day","tags":["day"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The token is all a machine without the developer's login needs.
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "elsewhere.json"))
	out, err := run(t, ctx, "agent", "register", "--card", card, "--bootstrap-token", bt.Token, "-q")
	agent := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(agent, "agt_") || strings.Contains(agent, "\n") {
		t.Fatalf("agent register -q: %q %v", out, err)
	}
	wantErr(t, "INVALID_BOOTSTRAP_TOKEN", "agent", "register", "--card", card, "--bootstrap-token", bt.Token)
	var regJSON struct{ ID, DID, SPIFFEID, Grant string }
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	if _, err := run(t, ctx, "login", "--email", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, &regJSON, "agent", "register", "--card", card, "--json")
	if !strings.HasPrefix(regJSON.ID, "agt_") || !strings.HasPrefix(regJSON.DID, "did:key:") || regJSON.Grant != "100" {
		t.Fatalf("agent register --json: %+v", regJSON)
	}

	var list struct {
		Items []struct{ ID, Status string } `json:"items"`
	}
	mustJSON(t, &list, "agent", "list", "--json")
	if len(list.Items) != 2 || list.Items[0].Status != "active" {
		t.Fatalf("agent list: %+v", list)
	}
	if out, err := run(t, ctx, "agent", "list"); err != nil || !strings.Contains(out, agent+"\tactive\t") {
		t.Fatalf("agent list (not a terminal: tab-separated rows): %q %v", out, err)
	}
	var shown struct {
		ID          string `json:"id"`
		DeveloperID string `json:"developer_id"`
	}
	mustJSON(t, &shown, "agent", "show", agent, "--json")
	if shown.ID != agent || shown.DeveloperID != reg.Developer.ID {
		t.Fatalf("agent show: %+v", shown)
	}
	var cardDoc map[string]any
	mustJSON(t, &cardDoc, "agent", "card", agent)
	if cardDoc["name"] != "Day Agent" {
		t.Fatalf("agent card: %v", cardDoc)
	}
	var bal struct{ Account, Liquid, Total string }
	mustJSON(t, &bal, "agent", "balance", agent, "--json")
	if bal.Account != agent || bal.Liquid != "100" || bal.Total != "100" {
		t.Fatalf("agent balance: %+v", bal)
	}
	wantErr(t, "AGENT_NOT_FOUND", "agent", "balance", "agt_01M94RTRVW58K5949YF7X55GGK")
	wantErr(t, "accepts 1 arg", "agent", "balance")

	// The agent's own view: --as picks the stored agent.
	var own struct {
		Account string `json:"account"`
		Liquid  string `json:"liquid"`
	}
	mustJSON(t, &own, "token", "balance", "--as", regJSON.ID, "--json")
	if own.Account != regJSON.ID || own.Liquid != "100" {
		t.Fatalf("token balance --as: %+v", own)
	}
	var hist struct {
		Items []struct{ Kind, Amount string } `json:"items"`
	}
	mustJSON(t, &hist, "token", "history", "--as", regJSON.ID, "--json")
	if len(hist.Items) == 0 {
		t.Fatalf("token history --as: %+v", hist)
	}
	// Readable rows: the grant from the treasury, signed from the agent's side; the zero-amount
	// opening only with --all; pages by --cursor.
	out, err = run(t, ctx, "token", "history", "--as", regJSON.ID)
	if err != nil || !strings.Contains(out, "\tgrant\tsys:treasury\t+100\t0\tstarting grant") || strings.Contains(out, "\topen\t") {
		t.Fatalf("token history --as: %q %v", out, err)
	}
	if out, err := run(t, ctx, "token", "history", "--as", regJSON.ID, "--all", "--ids"); err != nil || !strings.Contains(out, "\topen\t") || !strings.Contains(out, "onboard-grant:") {
		t.Fatalf("token history --all --ids: %q %v", out, err)
	}
	var first struct {
		Items      []struct{ ID string } `json:"items"`
		NextCursor string                `json:"next_cursor"`
	}
	mustJSON(t, &first, "token", "history", "--as", regJSON.ID, "--limit", "1", "--json")
	if len(first.Items) != 1 || first.NextCursor == "" {
		t.Fatalf("token history --limit 1: %+v", first)
	}
	var second struct {
		Items []struct{ ID string } `json:"items"`
	}
	mustJSON(t, &second, "token", "history", "--as", regJSON.ID, "--limit", "1", "--cursor", first.NextCursor, "--json")
	if len(second.Items) != 1 || second.Items[0].ID == first.Items[0].ID {
		t.Fatalf("token history --cursor: %+v after %+v", second, first)
	}
	wantErr(t, "no stored agent", "token", "balance", "--as", "agt_unknown")
	wantErr(t, "give one", "token", "balance", "--as", regJSON.ID, "--credential", "x")

	// API keys: made with the login session, listed, revoked.
	var key struct{ ID, Key string }
	mustJSON(t, &key, "apikey", "create", "--name", "laptop", "--scope", "read", "--json")
	if !strings.HasPrefix(key.Key, "avreg_") {
		t.Fatalf("apikey create: %+v", key)
	}
	wantErr(t, "--name is required", "apikey", "create")
	wantErr(t, "API key", "apikey", "create", "--name", "from a key", "--token", key.Key) // session only
	var keys struct {
		Items []struct{ ID, Status string } `json:"items"`
	}
	mustJSON(t, &keys, "whoami", "--json", "--token", key.Key) // a read key reads
	mustJSON(t, &keys, "apikey", "list", "--json")
	if len(keys.Items) != 1 || keys.Items[0].Status != "active" {
		t.Fatalf("apikey list: %+v", keys)
	}
	if out, err := run(t, ctx, "apikey", "revoke", key.ID); err != nil || !strings.Contains(out, "revoked "+key.ID) {
		t.Fatalf("apikey revoke: %q %v", out, err)
	}
	wantErr(t, "NOT_FOUND", "apikey", "revoke", "key_01M94RTRVW58K5949YF7X55GGK")

	// Ada suspends, reactivates and revokes her agent.
	var st struct{ Status string }
	mustJSON(t, &st, "agent", "suspend", agent, "--json")
	if st.Status != "suspended" {
		t.Fatalf("agent suspend: %+v", st)
	}
	if out, err := run(t, ctx, "agent", "reactivate", agent); err != nil || !strings.Contains(out, agent+" is active") {
		t.Fatalf("agent reactivate: %q %v", out, err)
	}
	if out, err := run(t, ctx, "agent", "revoke", agent); err != nil || !strings.Contains(out, agent+" is revoked") {
		t.Fatalf("agent revoke: %q %v", out, err)
	}
	wantErr(t, "AGENT_REVOKED", "agent", "reactivate", agent)
	if out, err := run(t, ctx, "agent", "delete", regJSON.ID); err != nil || !strings.Contains(out, regJSON.ID+" is revoked") {
		t.Fatalf("agent delete (revoke's alias): %q %v", out, err)
	}

	// Another developer reads none of Ada's agents.
	bob := filepath.Join(t.TempDir(), "bob.json")
	t.Setenv("SOVEREIGN_CREDENTIALS", bob)
	if _, err := run(t, ctx, "register", "--email", "bob@example.com", "--name", "Bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "login", "--email", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "FORBIDDEN", "agent", "balance", agent)
	wantErr(t, "FORBIDDEN", "agent", "show", agent)
	wantErr(t, "FORBIDDEN", "agent", "suspend", agent)
	if out, err := run(t, ctx, "logout"); err != nil || !strings.Contains(out, "logged out bob@example.com") {
		t.Fatalf("logout: %q %v", out, err)
	}
	wantErr(t, "no developer credential", "whoami")
	if out, err := run(t, ctx, "logout"); err != nil || !strings.Contains(out, "not logged in") {
		t.Fatalf("logout twice: %q %v", out, err)
	}
}
