package httpapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
)

// peerAuth is fakeAuth that also knows TLS client certificates, by their leaf's common name.
type peerAuth struct{ *fakeAuth }

var svc = policy.Subject{Kind: policy.KindService, ID: "spiffe://td/registry/main", AuthMethod: policy.AuthX509SVID}

func (peerAuth) AuthenticatePeer(_ context.Context, chain []*x509.Certificate) (policy.Subject, error) {
	if chain[0].Subject.CommonName == "good" {
		return svc, nil
	}
	return policy.Subject{}, apperr.New(apperr.Unauthenticated, "INVALID_X509_SVID", "not an SVID")
}

func TestAuthenticate_PeerCertificate(t *testing.T) {
	s := newStack(t, stackOptions{auth: peerAuth{newFakeAuth()}})
	do := func(cn string, header ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/whoami", nil)
		if cn != "" {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: cn}}}}
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		s.handler.ServeHTTP(w, r)
		return w
	}
	who := func(w *httptest.ResponseRecorder) string {
		t.Helper()
		var b struct{ ID string }
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &b) != nil {
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		return b.ID
	}
	if id := who(do("good")); id != svc.ID {
		t.Errorf("peer subject = %q, want %q", id, svc.ID)
	}
	if id := who(do("good", "Authorization", "Bearer "+aliceToken)); id != alice.ID {
		t.Errorf("a bearer token beside the certificate: subject %q, want %q", id, alice.ID)
	}
	if id := who(do("")); id != "" {
		t.Errorf("no certificate: subject %q, want anonymous", id)
	}
	if w := do("bad"); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("bad certificate: %d %s", w.Code, w.Body.String())
	}
	if v, _ := counterValue(t, s, "sovereign_auth_failures_total", map[string]string{"code": "INVALID_X509_SVID"}); v != 1 {
		t.Errorf("auth_failures{code=INVALID_X509_SVID} = %v, want 1", v)
	}
}
