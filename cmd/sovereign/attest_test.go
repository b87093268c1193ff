package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAttestCommands_SubmitListAndVerifyOffline(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	t.Setenv("AGENTVAULT_KEYS_FILE", filepath.Join(t.TempDir(), "keys.json"))
	srv, hs := startStack(t)
	ctx := context.Background()
	dir := t.TempDir()
	reg := []string{"--registry", hs.URL}
	// Two agents: a payer and the payee of its transfer.
	var agents []string
	for _, name := range []string{"Payer", "Payee"} {
		card := filepath.Join(dir, name+".json")
		if err := os.WriteFile(card, []byte(`{"name":"`+name+`","description":"An agent that attests","version":"1.0.0",
			"supportedInterfaces":[{"url":"https://cli.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
			"capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
			"skills":[{"id":"cli","name":"CLI","description":"cli","tags":["cli"]}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, ctx, append([]string{"agent", "register", "--card", card, "--token", srv.AdminKey}, reg...)...)
		if err != nil {
			t.Fatalf("register: %v\n%s", err, out)
		}
		agents = append(agents, regexp.MustCompile(`agent\s+(agt_\w+)`).FindStringSubmatch(out)[1])
	}
	payer, author := agents[0], agents[1]
	out, err := run(t, ctx, append([]string{"token", "transfer", "--as", payer, "--to", author, "--amount", "10", "--json"}, reg...)...)
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	tx := regexp.MustCompile(`"id": "([^"]+)"`).FindStringSubmatch(out)[1]
	evidence := filepath.Join(dir, "result.md")
	if err := os.WriteFile(evidence, []byte("The summary, delivered.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	statement := []string{"--type", "task_completed", "--subject", author, "--transfer", tx, "--evidence-file", evidence,
		"--evidence-uri", "https://results.example.com/7", "--issued-at", time.Now().UTC().Format(time.RFC3339)}
	// The payer co-signs the payee's statement; the payee submits it with the co-signature.
	cosig, err := run(t, ctx, append(append([]string{"attest", "submit", "--sign-only", "--agent", payer, "--attester", author}, statement...), reg...)...)
	if err != nil || !strings.Contains(cosig, `"alg": "EdDSA"`) {
		t.Fatalf("sign-only = %q, %v", cosig, err)
	}
	cosigFile := filepath.Join(dir, "cosig.json")
	if err := os.WriteFile(cosigFile, []byte(cosig), 0o600); err != nil {
		t.Fatal(err)
	}
	submit := append(append([]string{"attest", "submit", "--agent", author, "--cosignature", cosigFile}, statement...), reg...)
	out, err = run(t, ctx, submit...)
	if err != nil || !strings.Contains(out, "attested: att_") || !strings.Contains(out, "task_completed about "+author+" by "+author) || !strings.Contains(out, "reward 0.5 AVT paid") {
		t.Fatalf("submit = %q, %v", out, err)
	}
	id := regexp.MustCompile(`att_[0-9a-f]{64}`).FindString(out)
	if _, err := run(t, ctx, submit...); err == nil || !strings.Contains(err.Error(), "ATTESTATION_REPLAYED") {
		t.Fatalf("a replay: %v", err)
	}
	// The payer's code review of an agent of its own developer is refused.
	if _, err := run(t, ctx, append([]string{"attest", "submit", "--agent", payer, "--type", "code_review", "--subject", author,
		"--evidence-hash", "sha256:" + strings.Repeat("0", 64), "--evidence-uri", "https://e.example.com/"}, reg...)...); err == nil || !strings.Contains(err.Error(), "SAME_DEVELOPER") {
		t.Fatalf("same developer: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"attest", "submit", "--agent", payer, "--type", "karma", "--subject", author,
		"--evidence-hash", "sha256:" + strings.Repeat("0", 64), "--evidence-uri", "https://e.example.com/"}, reg...)...); err == nil || !strings.Contains(err.Error(), "UNKNOWN_ATTESTATION_TYPE") {
		t.Fatalf("unknown type: %v", err)
	}
	if out, err := run(t, ctx, append([]string{"attest", "list", "--subject", author}, reg...)...); err != nil || !strings.Contains(out, id) {
		t.Fatalf("list = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"attest", "list", "--attester", payer}, reg...)...); err != nil || !strings.Contains(out, "(no attestations)") {
		t.Fatalf("list by the author = %q, %v", out, err)
	}
	out, err = run(t, ctx, append([]string{"reputation", "verify-attestation", id}, reg...)...)
	if err != nil || !strings.Contains(out, "valid: task_completed attested by "+author+" (EdDSA), about "+author+", co-signed by "+payer) {
		t.Fatalf("verify-attestation = %q, %v", out, err)
	}
	// Saved and tampered with, it no longer verifies.
	saved, err := run(t, ctx, append([]string{"attest", "list", "--subject", author, "--json"}, reg...)...)
	if err != nil {
		t.Fatal(err)
	}
	one := saved[strings.Index(saved, "{\n      \"id\""):]
	one = one[:strings.Index(one, "\n    }")+6]
	file := filepath.Join(dir, "att.json")
	if err := os.WriteFile(file, []byte(one), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, append([]string{"reputation", "verify-attestation", "@" + file}, reg...)...); err != nil || !strings.Contains(out, "valid:") {
		t.Fatalf("verify-attestation @file = %q, %v", out, err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(one, "results.example.com/7", "results.example.com/8", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, append([]string{"reputation", "verify-attestation", "@" + file}, reg...)...); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("a tampered attestation: %v", err)
	}
}
