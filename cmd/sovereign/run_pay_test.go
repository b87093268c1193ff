package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/avt"
)

// doneExec completes each task with one artifact.
type doneExec struct{}

func (doneExec) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
		return err
	}
	art := &a2apb.Artifact{ArtifactId: "out", Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "paid answer to " + agentvault.TextOf(rc.Message.GetParts())}}}}
	if err := q.Artifact(ctx, art); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (doneExec) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// registerCLI registers a card with 'sovereign agent register' and returns the agent id.
func registerCLI(t *testing.T, ctx context.Context, registry, adminKey string, card map[string]any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "card.json")
	b, _ := json.Marshal(card)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, ctx, "agent", "register", "--card", path, "--token", adminKey, "--registry", registry)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`agent\s+(agt_\w+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("register output %q", out)
	}
	return m[1]
}

func cliCard(name, base string, secured bool) map[string]any {
	c := map[string]any{"name": name, "description": name + " for tests", "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": base + "/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{}, "defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "answer", "name": "Answer", "description": "answers", "tags": []string{"test"}}}}
	if secured {
		c["securitySchemes"] = map[string]any{"svid": map[string]any{"httpAuthSecurityScheme": map[string]any{"scheme": "Bearer", "bearerFormat": "JWT"}}}
		c["securityRequirements"] = []map[string]any{{"schemes": map[string]any{"svid": map[string]any{}}}}
	}
	return c
}

// TestRunPay_PaysAPaidAgentThroughTheTEG registers a payer and a paid agent from the command
// line on an embedded stack, serves the paid agent in-process (a2a.Payments over a TEGLedger
// acting as the agent, with the default JWT-SVID auth), and runs 'run --pay': the payer pays
// price + fee, the payee receives the price, and the task's metadata says posted.
func TestRunPay_PaysAPaidAgentThroughTheTEG(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	t.Setenv("HOME", t.TempDir()) // no key store of the developer's
	t.Setenv("AGENTVAULT_KEYS_FILE", filepath.Join(t.TempDir(), "keys.json"))
	srv, hs := startStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	payee := registerCLI(t, ctx, hs.URL, srv.AdminKey, cliCard("Paid Agent", base, true))
	payer := registerCLI(t, ctx, hs.URL, srv.AdminKey, cliCard("Payer Agent", "http://payer.invalid", false))

	done := servePaidAgent(t, ctx, hs.URL, payee, cliCard("Paid Agent", base, true), ln, "2")

	balance := func(id string) string {
		var out struct {
			Liquid string `json:"liquid"`
		}
		c := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
		if err := c.do("GET", "/api/v1/token/balance?account="+id, nil, nil, &out); err != nil {
			t.Fatal(err)
		}
		return out.Liquid
	}
	payer0, payee0 := balance(payer), balance(payee)

	if _, err := run(t, ctx, "run", "--agent", base, "--input", "hi", "--pay", "1", "--registry", hs.URL); err == nil || !strings.Contains(err.Error(), `costs 2 AVT`) {
		t.Fatalf("underpaying: %v", err)
	}
	out, err := run(t, ctx, "run", "--agent", base, "--input", "what costs two", "--pay", "2", "--registry", hs.URL, "--as", payer)
	if err != nil {
		t.Fatalf("run --pay: %v\n%s", err, out)
	}
	t.Logf("run --pay:\n%s", out)
	if !strings.Contains(out, "paid answer to what costs two") || !regexp.MustCompile(`payment \S+: 2 AVT to `+payee+`: posted`).MatchString(out) {
		t.Fatalf("run --pay output:\n%s", out)
	}
	want := func(before, delta string, add bool) string {
		a, _ := avt.Parse(before)
		d, _ := avt.Parse(delta)
		if add {
			a, _ = a.Add(d)
		} else {
			a, _ = a.Sub(d)
		}
		return a.String()
	}
	if got, w := balance(payer), want(payer0, "2.002", false); got != w {
		t.Fatalf("payer balance %s, want %s (before %s)", got, w, payer0)
	}
	if got, w := balance(payee), want(payee0, "2", true); got != w {
		t.Fatalf("payee balance %s, want %s (before %s)", got, w, payee0)
	}

	// An agent without prices is not paid.
	if _, err := run(t, ctx, "run", "--agent", "http://"+ln.Addr().String()+"/nowhere.json", "--input", "x", "--pay", "1", "--registry", hs.URL); err == nil {
		t.Fatal("paid an agent with no card")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not stop")
	}
}

// servePaidAgent serves the agent payee — registered from the command line, its credentials in
// the CLI's credentials file — on ln with the card cardDoc: doneExec behind a2a.Payments, the
// skill "answer" at price AVT, paid through the TEG as the agent. The channel gets Run's result
// once ctx ends.
func servePaidAgent(t *testing.T, ctx context.Context, registry, payee string, cardDoc map[string]any, ln net.Listener, price string) <-chan error {
	t.Helper()
	creds, err := loadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	pc := creds.registry(registry).Agents[payee]
	if err := pc.loadSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	var card a2apb.AgentCard
	b, _ := json.Marshal(cardDoc)
	if err := protojson.Unmarshal(b, &card); err != nil {
		t.Fatal(err)
	}
	ts := agentvault.NewTokenSource(registry, pc.ClientID, pc.ClientSecret)
	p, err := avt.Parse(price)
	if err != nil {
		t.Fatal(err)
	}
	cfg := a2a.Payments{Ledger: &a2a.TEGLedger{BaseURL: registry, Account: payee, Auth: ts.Apply}, Payee: payee,
		Prices: map[string]avt.Amount{"answer": p}}.Wrap(a2a.ServerConfig{Executor: doneExec{}, Card: &card})
	agent := &agentvault.Agent{Executor: cfg.Executor, Store: cfg.Store, Card: cfg.Card, Identity: &agentvault.Identity{ID: payee, SPIFFEID: pc.SPIFFEID},
		RegistryURL: registry, HeartbeatInterval: -1, Listener: ln}
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	return done
}
