package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is the path of an installed Chromium (or Chrome), or "" when there is none.
func chromium() string {
	if p := os.Getenv("SOVEREIGN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newChrome starts a headless Chromium with a fresh profile at a phone's size, or skips the
// test when none is installed.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	return newChromeAt(t, 390, 844)
}

// newChromeAt is newChrome with a window of w×h pixels.
func newChromeAt(t *testing.T, w, h int) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no Chromium installed (apt-get install chromium, or set SOVEREIGN_CHROMIUM): real-browser test skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Headless, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(w, h))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

// shot saves a screenshot of the page under the test's artifact directory (go test -artifacts)
// and, when SOVEREIGN_SCREENSHOTS names a directory, there too.
func shot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, tg)
		if err != nil {
			return err
		}
		if dir := os.Getenv("SOVEREIGN_SCREENSHOTS"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644)
	})
}

// click presses the element that sel names once it is visible, as the element's own click()
// does (a submit button submits its form with its name and value; a link is followed). The
// press does not depend on where the element is drawn: right after a full-page screenshot the
// layout can still be the enlarged one, and a pointer event at the element's old centre then
// lands on nothing, leaving the step to wait for a page that never comes.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.WaitVisible(chromedp.CSS(sel))(ctx, tg); err != nil {
			return err
		}
		q, _ := json.Marshal(sel)
		found, err := chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+string(q)+`); if (!e) return false; e.click(); return true })()`)(ctx, tg)
		if err == nil && !found {
			err = fmt.Errorf("nothing to click at %s", sel)
		}
		return err
	})
}

// fill types value into the input with id.
func fill(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.ID(id), value)
}

func TestBrowser_SignUpLogInPublishACardAndSeeIt(t *testing.T) {
	ctx := newChrome(t) // first: skips without a browser
	s := newSite(t)
	base := s.srv.URL
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	textOf := func(step, sel string) string {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return text
	}
	bodyHas := func(step, want string) {
		t.Helper()
		if text := textOf(step, "main"); !strings.Contains(text, want) {
			t.Fatalf("%s: the page does not say %q; it says:\n%s", step, want, text)
		}
	}

	run("sign up", chromedp.Navigate(base+"/portal/signup"), shot(t, "01-signup"),
		fill("email", "ada@example.com"), fill("name", "Ada Lovelace"),
		fill("password", "correct horse battery"), fill("password2", "correct horse battery"),
		click(`button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`ul.secrets`)), shot(t, "02-signed-up"))
	bodyHas("sign up", "avrk_")

	run("verify", chromedp.Navigate(base+"/portal/verify?token="+s.mail.Token(t, "ada@example.com")),
		click(`main form[action="/portal/verify"] button`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	bodyHas("verify", "is verified")

	run("log in", chromedp.Navigate(base+"/portal/agents"), // not signed in: sent to log in, then back
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		fill("email", "ada@example.com"), fill("password", "correct horse battery"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`a.button`)), shot(t, "03-my-agents-empty"))
	bodyHas("log in", "No agent cards yet")

	run("card with an error", click(`a.button`),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		fill("name", "Polyglot"), fill("description", "Translates text between languages."),
		chromedp.SetValue(chromedp.CSS("#url"), "not a url"),
		fill("skill_description", "Translate a text"), fill("tags", "translation"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`#url-err .field-error`)), shot(t, "04-card-error"))
	if textOf("card with an error", "#url-err") == "" {
		t.Fatal("no error next to the URL field")
	}

	run("card fixed", chromedp.SetValue(chromedp.CSS("#url"), "https://agents.example.com/a2a"),
		click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)), shot(t, "05-my-agents"))
	bodyHas("card list", "Polyglot")

	run("dashboard", chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible(chromedp.CSS(`h1`)), shot(t, "06-dashboard"))
	bodyHas("dashboard", "Polyglot")

	run("log out", click(`form[action="/portal/logout"] button`),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/portal/signup"]`))) // only signed-out pages have it
	bodyHas("log out", "You are logged out")
}

func TestBrowser_EveryInputHasALabel(t *testing.T) {
	ctx := newChrome(t) // first: skips without a browser
	s := newSite(t)
	s.newUser("ada@example.com") // the browser signs in below, as this developer
	pages := []string{"/portal/", "/portal/signup", "/portal/login", "/portal/verify", "/portal/recover"}
	const unlabelled = `Array.from(document.querySelectorAll('input:not([type=hidden]),textarea,select'))
		.filter(e => !(e.id && document.querySelector('label[for="'+e.id+'"]')) && !e.closest('label') && !e.getAttribute('aria-label'))
		.map(e => e.name || e.id)`
	const noAlt = `Array.from(document.querySelectorAll('img')).filter(e => !e.hasAttribute('alt')).map(e => e.src)`
	check := func(path string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		missing, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](unlabelled))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		images, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](noAlt))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(missing) > 0 || len(images) > 0 {
			t.Errorf("%s: inputs without a label %v, images without alt %v", path, missing, images)
		}
	}
	for _, p := range pages {
		check(p)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/portal/login"), fill("email", "ada@example.com"),
		fill("password", "correct horse battery"), click(`main button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/portal/logout"]`))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/portal/", "/portal/agents", "/portal/agents/new", "/portal/keys", "/portal/tokens",
		"/portal/discover", "/portal/wallet", "/portal/templates", "/portal/templates/echo-agent"} {
		check(p)
	}
}
