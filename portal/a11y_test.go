package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// attr is the value of n's attribute key ("" when absent) and whether it is there.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// walk calls f for every element under n.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// auditPage checks a page's markup: every input has a label, every picture a text
// alternative, every form that posts a CSRF token, and nothing runs script.
func auditPage(t *testing.T, path, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	labels := map[string]bool{}
	h1 := 0
	walk(doc, func(n *html.Node) {
		if n.Data == "label" {
			if f, ok := attr(n, "for"); ok {
				labels[f] = true
			}
		}
		if n.Data == "h1" {
			h1++
		}
	})
	if h1 != 1 {
		t.Errorf("%s: %d h1 headings, want 1", path, h1)
	}
	insideLabel := func(n *html.Node) bool {
		for p := n.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && p.Data == "label" {
				return true
			}
		}
		return false
	}
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "input", "select", "textarea":
			if typ, _ := attr(n, "type"); typ == "hidden" || typ == "submit" {
				return
			}
			id, _ := attr(n, "id")
			aria, _ := attr(n, "aria-label")
			if !(id != "" && labels[id]) && aria == "" && !insideLabel(n) {
				name, _ := attr(n, "name")
				t.Errorf("%s: %s %q has no label", path, n.Data, name)
			}
		case "img":
			if _, ok := attr(n, "alt"); !ok {
				src, _ := attr(n, "src")
				t.Errorf("%s: image %q has no alt text", path, src)
			}
		case "svg":
			role, _ := attr(n, "role")
			label, _ := attr(n, "aria-label")
			hasTitle := false
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "title" && c.FirstChild != nil {
					hasTitle = true
				}
			}
			if role != "img" || label == "" || !hasTitle {
				t.Errorf("%s: a picture without role=img, aria-label and title", path)
			}
		case "form":
			if m, _ := attr(n, "method"); strings.EqualFold(m, "post") {
				found := false
				walk(n, func(c *html.Node) {
					if name, _ := attr(c, "name"); c.Data == "input" && name == "csrf" {
						if v, _ := attr(c, "value"); v != "" {
							found = true
						}
					}
				})
				if !found {
					action, _ := attr(n, "action")
					t.Errorf("%s: the form posting to %s has no CSRF token", path, action)
				}
			}
		case "script", "iframe", "object", "embed":
			t.Errorf("%s: a <%s> element", path, n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("%s: an inline event handler %s on <%s>", path, a.Key, n.Data)
			}
			if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Errorf("%s: a javascript: URL in %s", path, a.Key)
			}
		}
	})
}

// linkRE finds the portal pages a page links to.
var linkRE = regexp.MustCompile(`href="(/portal/[^"#]*)"`)

func TestEveryPage_InputsHaveLabelsPicturesHaveTextAndNothingRunsScript(t *testing.T) {
	s := newFundedSite(t)
	b := s.newUser("ada@example.com")
	payer := s.registerAgent(b, "payer")
	payee := s.registerAgent(b, "payee")
	b.get("/portal/agents/new")
	evil := cardForm("<script>alert(1)</script>")
	evil.Set("description", `<a href="javascript:alert(1)">click</a> javascript:alert(2)`)
	evil.Set("tags", `"><img src=x onerror=alert(1)>`)
	b.post("/portal/agents/new", evil)
	b.get("/portal/wallet")
	b.post("/portal/wallet/transfer", url.Values{"from": {payer.Identity.ID}, "to": {payee.Identity.ID}, "amount": {"1"},
		"message": {`<script>alert(1)</script>`}, "client_secret": {payer.ClientSecret}, "action": {"send"}}).want(t, 201)

	// Every page reachable from the dashboard by links, and the pages of forms' answers.
	seen := map[string]bool{}
	queue := []string{"/portal/", "/portal/discover?q=alert", "/portal/wallet?agent=" + payer.Identity.ID}
	for len(queue) > 0 && len(seen) < 80 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] || strings.HasPrefix(path, "/portal/static/") {
			continue
		}
		seen[path] = true
		p := b.get(strings.ReplaceAll(path, "&amp;", "&"))
		if p.Status != http.StatusOK {
			t.Errorf("GET %s: %d", path, p.Status)
			continue
		}
		checkHeaders(t, path, p.Header)
		auditPage(t, path, p.Body)
		if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "onerror=alert") && !strings.Contains(p.Body, "&lt;img") {
			t.Errorf("%s: a card's or message's markup was rendered", path)
		}
		for _, m := range linkRE.FindAllStringSubmatch(p.Body, -1) {
			queue = append(queue, m[1])
		}
	}
	t.Logf("%d pages audited", len(seen))
	for _, want := range []string{"/portal/agents", "/portal/wallet", "/portal/discover", "/portal/templates", "/portal/keys", "/portal/tokens"} {
		if !seen[want] {
			t.Errorf("%s is not linked from the pages", want)
		}
	}
	// Answers of forms.
	b.get("/portal/wallet")
	p := b.post("/portal/wallet/transfer", url.Values{"from": {payer.Identity.ID}, "to": {payee.Identity.ID}, "amount": {"1"}, "action": {"preview"}}).want(t, 200)
	auditPage(t, "fee preview", p.Body)
	p = b.post("/portal/tokens", nil).want(t, 201)
	auditPage(t, "new bootstrap token", p.Body)
	p = b.post("/portal/keys", url.Values{"name": {"ci"}, "scope": {"read"}}).want(t, 201)
	auditPage(t, "new API key", p.Body)

	anon := s.browser()
	for _, path := range []string{"/portal/", "/portal/signup", "/portal/login", "/portal/verify", "/portal/recover", "/portal/no-such-page"} {
		p := anon.get(path)
		checkHeaders(t, path, p.Header)
		auditPage(t, path, p.Body)
	}
}

// checkHeaders checks that a page cannot be framed (clickjacking) nor run inline script.
func checkHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") ||
		h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: CSP %q, X-Frame-Options %q", path, csp, h.Get("X-Frame-Options"))
	}
}

func TestCSRF_TheNewFormsRefuseCrossSitePostsAndMissingTokens(t *testing.T) {
	s := newFundedSite(t)
	b := s.newUser("ada@example.com")
	payer := s.registerAgent(b, "payer")
	b.get("/portal/wallet")
	good := b.csrf
	transfer := url.Values{"from": {payer.Identity.ID}, "to": {"agt_x"}, "amount": {"1"}, "client_secret": {payer.ClientSecret}, "action": {"send"}}
	for _, path := range []string{"/portal/wallet/transfer", "/portal/templates/echo-agent"} {
		f := url.Values{}
		for k, v := range transfer {
			f[k] = v
		}
		f.Set("csrf", "")
		b.post(path, f).want(t, 403, "Form refused")
		f.Set("csrf", "forged-token-forged-token")
		b.post(path, f).want(t, 403, "Form refused")
		// With the right token, but sent by another site's page.
		f.Set("csrf", good)
		req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		b.do(req).want(t, 403, "Form refused")
	}
	// Nothing was sent.
	b.get("/portal/wallet?agent="+payer.Identity.ID).want(t, 200, "100 AVT")
	// The anonymous recovery form needs its cookie's token.
	anon := s.browser()
	anon.post("/portal/recover", url.Values{"csrf": {"x"}, "email": {"ada@example.com"}}).want(t, 403, "Form refused")
	s.browser().post("/portal/wallet/transfer", url.Values{"csrf": {"whatever"}}).want(t, 401, "not signed in")
}

func TestUnauthenticated_TheNewPagesRedirectToLogIn(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	for _, path := range []string{"/portal/discover", "/portal/discover/agt_x", "/portal/wallet", "/portal/templates", "/portal/templates/echo-agent"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/portal/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s: %d %q", path, p.Status, p.Header.Get("Location"))
		}
	}
}
