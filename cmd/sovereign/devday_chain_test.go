package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeveloperDay_EndToEnd drives a developer's whole day on the command line, in one chain:
// sign up → verify → log in → a bootstrap token → register a paid agent with it and a payer →
// list the agents → update the paid agent's card → discover it by the new words → run it, paying
// as the payer → the payer's history shows the payment. Every --json answer is parsed.
func TestDeveloperDay_EndToEnd(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	t.Setenv("AGENTVAULT_KEYS_FILE", filepath.Join(t.TempDir(), "keys.json"))
	t.Setenv("HOME", t.TempDir())
	srv, hs := startStack(t)
	t.Setenv("SOVEREIGN_REGISTRY", hs.URL)
	t.Setenv("SOVEREIGN_PASSWORD", "correct horse battery staple")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Sign up, verify (the link the email carries), log in.
	var reg struct {
		Developer struct{ ID string } `json:"developer"`
	}
	mustJSON(t, &reg, "register", "--email", "grace@example.com", "--name", "Grace Hopper", "--json")
	if _, err := srv.Accounts().VerifyEmailDirect(ctx, "grace@example.com"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, "login", "--email", "grace@example.com"); err != nil || !strings.Contains(out, "logged in") {
		t.Fatalf("login: %q %v", out, err)
	}
	var me map[string]any
	mustJSON(t, &me, "whoami", "--json")
	if me["email_verified"] != true {
		t.Fatalf("whoami: %v", me)
	}

	// A bootstrap token, and the paid agent registered with it; the payer registered as Grace.
	var bt struct{ Token string }
	mustJSON(t, &bt, "bootstrap-token", "create", "--json")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	writeCard := func(name string, card map[string]any) string {
		p := filepath.Join(t.TempDir(), name)
		b, _ := json.Marshal(card)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	payeeCard := cliCard("Harbour Oracle", base, true)
	var payeeReg struct{ ID string }
	mustJSON(t, &payeeReg, "agent", "register", "--card", writeCard("payee.json", payeeCard), "--bootstrap-token", bt.Token, "--json")
	var payerReg struct{ ID string }
	mustJSON(t, &payerReg, "agent", "register", "--card", writeCard("payer.json", cliCard("Grace's Buyer", "http://buyer.invalid", false)), "--json")
	payee, payer := payeeReg.ID, payerReg.ID

	var list struct {
		Items []struct{ ID, Status string } `json:"items"`
	}
	mustJSON(t, &list, "agent", "list", "--json")
	if len(list.Items) != 2 {
		t.Fatalf("agent list: %+v", list)
	}

	// The paid agent's card gets a better description; discovery finds it by the new words.
	payeeCard["description"] = "Answers questions about tides and harbour schedules"
	var upd map[string]any
	mustJSON(t, &upd, "card", "update", payee, "--card", writeCard("payee-v2.json", payeeCard), "--json")
	var found []struct {
		ID string `json:"id"`
	}
	mustJSON(t, &found, "discover", "tides harbour", "--json")
	if len(found) == 0 || found[0].ID != payee {
		t.Fatalf("discover tides harbour: %+v", found)
	}

	// Serve the paid agent (2 AVT a task) as the registered agent.
	done := servePaidAgent(t, ctx, hs.URL, payee, payeeCard, ln, "2")

	// Run it, paying as the payer; the payer's history shows the payment.
	out, err := run(t, ctx, "run", "--agent", base, "--input", "high tide at noon?", "--pay", "2", "--as", payer)
	if err != nil || !strings.Contains(out, "paid answer to high tide at noon?") || !strings.Contains(out, "posted") {
		t.Fatalf("run --pay: %q %v", out, err)
	}
	var hist struct {
		Items []tokenTransfer `json:"items"`
	}
	mustJSON(t, &hist, "token", "history", "--as", payer, "--json")
	paid := false
	for _, tr := range hist.Items {
		if tr.To == payee && tr.Amount == "2" {
			paid = true
		}
	}
	if !paid {
		t.Fatalf("the payer's history has no payment of 2 AVT to %s: %+v", payee, hist.Items)
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
