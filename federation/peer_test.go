package federation_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
)

var self = spiffeid.RequireTrustDomainFromString("a.test")

func TestProposal_Check(t *testing.T) {
	good := federation.Proposal{Name: " B ", BaseURL: "https://b.example:8443/", TrustDomain: "b.example", BundleEndpoint: "https://b.example/.well-known/spiffe-bundle"}
	p := good
	if err := p.Check(self); err != nil || p.Name != "B" || p.BaseURL != "https://b.example:8443" {
		t.Fatalf("good proposal: %+v, %v", p, err)
	}
	for _, tc := range []struct {
		edit func(*federation.Proposal)
		code string
	}{
		{func(p *federation.Proposal) { p.Name = "" }, federation.CodeInvalidPeerName},
		{func(p *federation.Proposal) { p.TrustDomain = "a.test" }, federation.CodeOwnTrustDomain},
		{func(p *federation.Proposal) { p.TrustDomain = "B EXAMPLE" }, federation.CodeInvalidTrustDomain},
		{func(p *federation.Proposal) { p.TrustDomain = "spiffe://b.example/x" }, federation.CodeInvalidTrustDomain},
		{func(p *federation.Proposal) { p.BaseURL = "http://b.example" }, federation.CodeInvalidPeerURL},
		{func(p *federation.Proposal) { p.BaseURL = "https://b.example/?x=1" }, federation.CodeInvalidPeerURL},
		{func(p *federation.Proposal) { p.BaseURL = "/relative" }, federation.CodeInvalidPeerURL},
		{func(p *federation.Proposal) { p.BundleEndpoint = "https://u:p@b.example/b" }, federation.CodeInvalidPeerURL},
		{func(p *federation.Proposal) { p.BundleEndpoint = "file:///etc/passwd" }, federation.CodeInvalidPeerURL},
	} {
		p := good
		tc.edit(&p)
		if err := p.Check(self); apperr.CodeOf(err) != tc.code {
			t.Errorf("%+v: %v, want %s", p, err, tc.code)
		}
	}
	p = good
	p.BaseURL, p.BundleEndpoint = "http://127.0.0.1:8543", "http://localhost:8520/.well-known/spiffe-bundle"
	if err := p.Check(self); err != nil {
		t.Fatalf("http on loopback: %v", err)
	}
}

// FuzzProposal_Check: whatever is proposed, Check never panics, and what it accepts is an
// https URL (or http on loopback) without credentials, query or fragment, and a trust domain
// other than this registry's.
func FuzzProposal_Check(f *testing.F) {
	f.Add("B", "https://b.example:8443", "b.example", "https://b.example/.well-known/spiffe-bundle")
	f.Add("x", "http://127.0.0.1:1", "a.test", "http://[::1]:2/b")
	f.Add("", "https://u@h/?q#f", "B..", "javascript:alert(1)")
	f.Fuzz(func(t *testing.T, name, base, td, bundle string) {
		p := federation.Proposal{Name: name, BaseURL: base, TrustDomain: td, BundleEndpoint: bundle}
		if p.Check(self) != nil {
			return
		}
		if p.TrustDomain == self.Name() || p.Name == "" {
			t.Fatalf("accepted %+v", p)
		}
		for _, raw := range []string{p.BaseURL, p.BundleEndpoint} {
			u, err := url.Parse(raw)
			if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http") || strings.HasSuffix(raw, "/") {
				t.Fatalf("accepted URL %q", raw)
			}
		}
	})
}
