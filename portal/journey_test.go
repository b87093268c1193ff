package portal_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pageText is the URL and the text of the page in the browser, for a failing step's message.
func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(no page: " + err.Error() + ")"
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"), chromedp.NodeReady))
	if err != nil {
		return loc + " (no text: " + err.Error() + ")"
	}
	return loc + "\n" + text
}

// buildCLI builds the sovereign command into a temporary directory (skipping the test when
// there is no Go toolchain to build it with).
func buildCLI(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the sovereign CLI with: journey test skipped")
	}
	bin := filepath.Join(t.TempDir(), "sovereign")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/sovereign")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the CLI: %v\n%s", err, out)
	}
	return bin
}

// cli runs the sovereign command line in dir with its files (credentials, agent keys) there.
func cli(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		"SOVEREIGN_CREDENTIALS="+filepath.Join(dir, "credentials.json"), "AGENTVAULT_KEYS_FILE="+filepath.Join(dir, "keys.json"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sovereign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestBrowser_DeveloperJourney is a new developer's first hour in a real browser: sign up,
// verify with the emailed link, log in, get a bootstrap token, register an agent with the
// command the page shows, find it on the dashboard, fix its card, discover it, and pay
// another agent from it with the fee previewed, then read the history and the balance chart.
func TestBrowser_DeveloperJourney(t *testing.T) {
	if chromium() == "" {
		t.Skip("no Chromium installed (apt-get install chromium, or set SOVEREIGN_CHROMIUM): real-browser test skipped")
	}
	bin := buildCLI(t)
	ctx := newChromeAt(t, 1100, 900)
	s := newLiveSite(t)
	base := s.srv.URL
	work := t.TempDir()
	// Each step has its own minute, and a step that fails says what the page showed.
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v; the page at that moment:\n%s", step, err, pageText(ctx))
		}
	}
	get := func(step string, a chromedp.Action[string]) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		v, err := chromedp.Run(sctx, a)
		if err != nil {
			t.Fatalf("%s: %v; the page at that moment:\n%s", step, err, pageText(ctx))
		}
		return v
	}
	bodyHas := func(step string, wants ...string) {
		t.Helper()
		text := get(step, chromedp.Text(chromedp.CSS("main")))
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Fatalf("%s: the page does not say %q; it says:\n%s", step, want, text)
			}
		}
	}
	submit := func(form string) chromedp.Action[chromedp.Void] {
		return click(`main form[action="` + form + `"] button[type=submit]`)
	}

	run("sign up", chromedp.Navigate(base+"/portal/signup"), shot(t, "journey-01-signup"),
		fill("email", "grace@example.com"), fill("name", "Grace Hopper"),
		fill("password", "a compiler of one's own"), fill("password2", "a compiler of one's own"),
		submit("/portal/signup"), chromedp.WaitVisible(chromedp.CSS(`ul.secrets`)), shot(t, "journey-02-signed-up"))
	bodyHas("sign up", "avrk_")

	link, err := url.Parse(s.mail.Link("grace@example.com"))
	if err != nil || link.Path != "/portal/verify" {
		t.Fatalf("the verification email links to %q", s.mail.Link("grace@example.com"))
	}
	run("verify", chromedp.Navigate(link.String()), chromedp.WaitVisible(chromedp.ID("token")), shot(t, "journey-03-verify"),
		submit("/portal/verify"), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	bodyHas("verify", "is verified")

	run("log in", chromedp.Navigate(base+"/portal/login"), fill("email", "grace@example.com"), fill("password", "a compiler of one's own"),
		submit("/portal/login"), chromedp.WaitVisible(chromedp.CSS(`form[action="/portal/logout"]`)))
	bodyHas("log in", "Welcome, Grace Hopper", "No registered agents yet")

	run("bootstrap token", chromedp.Navigate(base+"/portal/tokens"), submit("/portal/tokens"),
		chromedp.WaitVisible(chromedp.ID("register-cmd")), shot(t, "journey-04-bootstrap-token"))
	command := get("bootstrap token", chromedp.Value(chromedp.ID("register-cmd")))
	args := strings.Fields(command)
	if len(args) < 2 || args[0] != "sovereign" || !strings.Contains(command, "--registry "+base) {
		t.Fatalf("the page's command: %q", command)
	}
	if err := os.WriteFile(filepath.Join(work, "agent-card.json"), agentCard("lighthouse"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := cli(t, bin, work, args[1:]...)
	m := regexp.MustCompile(`agent\s+(agt_\w+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("register printed %q", out)
	}
	agent := m[1]

	run("dashboard", chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Registered agents"]`)),
		shot(t, "journey-05-dashboard"))
	bodyHas("dashboard", agent, "100 AVT", "lighthouse", "starting grant")

	run("card with an error", chromedp.Navigate(base+"/portal/agents/"+agent), chromedp.WaitVisible(chromedp.ID("url")),
		chromedp.SetValue(chromedp.ID("url"), "not a url"), chromedp.SetValue(chromedp.ID("description"), "Guides ships through fog."),
		submit("/portal/agents/"+agent), chromedp.WaitVisible(chromedp.CSS(`#url-err .field-error`)), shot(t, "journey-06-card-error"))
	if get("card with an error", chromedp.Text(chromedp.ID("url-err"))) == "" {
		t.Fatal("no error next to the URL field")
	}
	run("card fixed", chromedp.SetValue(chromedp.ID("url"), "https://agents.example.com/lighthouse"),
		submit("/portal/agents/"+agent), chromedp.WaitVisible(chromedp.CSS(`.flash`)))

	run("discover", chromedp.Navigate(base+"/portal/discover"), fill("q", "ships fog"),
		click(`form[role=search] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/portal/discover/`+agent+`"]`)), shot(t, "journey-07-discover"),
		click(`a[href="/portal/discover/`+agent+`"]`), chromedp.WaitVisible(chromedp.CSS(`pre.doc`)),
		shot(t, "journey-08-card-document"))
	bodyHas("card document", "Guides ships through fog.", "urn:air:")

	// Someone to pay: another developer's agent.
	bob := s.newUser("bob@example.com")
	payee := s.registerAgent(bob, "harbour").Identity.ID
	// The wallet page names the command that shows the agent's client secret.
	run("wallet", chromedp.Navigate(base+"/portal/wallet?agent="+agent), chromedp.WaitVisible(chromedp.ID("client_secret")))
	hint := get("wallet", chromedp.Text(chromedp.CSS("#send + p code:last-of-type")))
	hintArgs := strings.Fields(hint)
	if len(hintArgs) < 2 || hintArgs[0] != "sovereign" {
		t.Fatalf("the wallet's hint: %q", hint)
	}
	shown := strings.TrimSpace(cli(t, bin, work, hintArgs[1:]...))
	secret := shown[strings.LastIndex(shown, " ")+1:]
	run("fee preview", fill("to", payee), fill("amount", "12.5"), fill("message", "harbour dues"),
		click(`button[value=preview]`), chromedp.WaitVisible(chromedp.CSS(".quote figure.chart")),
		shot(t, "journey-09-fee-preview"))
	bodyHas("fee preview", "Fee:", "treasury")
	run("send", fill("client_secret", secret), click(`button[value=send]`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)), chromedp.WaitVisible(chromedp.CSS("figure.chart svg")),
		shot(t, "journey-10-wallet-history"))
	bodyHas("send", "Sent 12.5 AVT to "+payee, "harbour dues", "Over the last 3 ledger events")

	run("dashboard after", chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Recent activity"]`)),
		shot(t, "portal-dashboard"))
	bodyHas("dashboard after", "harbour dues")
}
