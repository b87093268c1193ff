package portal_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/registry"
)

// TestBrowser_AdminMintsChangesParametersAndFindsADecision: an admin signs in, reads the
// developers, mints AVT into the treasury, changes a ledger parameter, and finds in the policy
// decision log the decision that refused a developer the admin pages.
func TestBrowser_AdminMintsChangesParametersAndFindsADecision(t *testing.T) {
	ctx := newChrome(t) // first: skips without a browser
	logFile := filepath.Join(t.TempDir(), "decisions.jsonl")
	s := newSiteWith(t, nil, func(c *config.Config) { c.DecisionLog = logFile })
	base := s.srv.URL
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	bodyHas := func(step, want string) {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !strings.Contains(text, want) {
			t.Fatalf("%s: the page does not say %q; it says:\n%s", step, want, text)
		}
	}

	// A developer is refused the admin pages: the refusal names the policy's decision.
	ada := s.newUser("ada@example.com")
	m := decisionRE.FindStringSubmatch(ada.get("/portal/admin").want(t, 403, "Administrators only").Body)
	if m == nil {
		t.Fatal("the refusal names no decision")
	}
	// The operator made root an admin (`sovereign developer make-admin`).
	s.signUp(s.browser(), "root@example.com")
	if _, err := s.app.Accounts().SetRoleDirect(context.Background(), "root@example.com", registry.RoleAdmin); err != nil {
		t.Fatal(err)
	}

	run("log in", chromedp.Navigate(base+"/portal/admin"),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		fill("email", "root@example.com"), fill("password", "correct horse battery"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`table[aria-label="Developers"]`)), shot(t, "admin-01-developers"))
	bodyHas("admin", "ada@example.com")

	run("mint", chromedp.Navigate(base+"/portal/admin/treasury"),
		chromedp.WaitVisible(chromedp.CSS(`#mint_amount`)),
		fill("mint_amount", "2500"), fill("mint_message", "grants budget"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)), shot(t, "admin-02-minted"))
	bodyHas("mint", "Minted 2500 AVT into the treasury")
	bodyHas("mint", "Treasury: 2500 AVT")

	run("a wrong amount", fill("mint_amount", "twelve"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`#mint_amount-err .field-error`)), shot(t, "admin-03-mint-error"))

	run("parameters", chromedp.Navigate(base+"/portal/admin/params"),
		chromedp.WaitVisible(chromedp.CSS(`#changes`)),
		fill("changes", "fee.rate_bps = 5"), fill("message", "halve the fee"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)), shot(t, "admin-04-parameters"))
	bodyHas("parameters", "version 2 is in force")

	run("decision log", chromedp.Navigate(base+"/portal/admin/decisions"),
		chromedp.WaitVisible(chromedp.CSS(`#id`)), fill("id", m[1]),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`pre.doc`)), shot(t, "admin-05-decision"))
	bodyHas("decision log", `"decision_id": "`+m[1]+`"`)
	bodyHas("decision log", `"developer.list"`)

	// Reputation is public: an agent's factors as a chart, with the table beside it.
	agent := s.registerFundedAgent(ada, "Ada's agent")
	run("reputation", chromedp.Navigate(base+"/portal/reputation?agent="+agent),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)), shot(t, "admin-06-reputation"))
	bodyHas("reputation", "transitive_trust")
}
