package a2a_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/identity"
)

// callerExec answers every message with the caller's identity.
type callerExec struct{}

func (callerExec) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	return q.Message(ctx, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "caller="+rc.Caller))
}

func (callerExec) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// authFixture is an issuer with a settable clock and an agent served behind an Authenticator.
type authFixture struct {
	iss      *identity.Builtin
	td       spiffeid.TrustDomain
	mu       sync.Mutex
	now      time.Time
	agentAud string
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	f := &authFixture{td: spiffeid.RequireTrustDomainFromString("sovereign.test"), now: time.Now()}
	iss, err := identity.NewBuiltin(t.TempDir(), f.td, identity.WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	f.iss = iss
	f.agentAud = "spiffe://sovereign.test/agent/agt_payee"
	return f
}

func (f *authFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *authFixture) setClock(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

// jwt mints a JWT-SVID for agent id with audience aud, valid for ttl from the issuer's clock.
func (f *authFixture) jwt(t *testing.T, agent, aud string, ttl time.Duration) string {
	t.Helper()
	id := spiffeid.RequireFromPath(f.td, "/agent/"+agent)
	tok, err := f.iss.MintJWTSVID(context.Background(), id, []string{aud}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func securedCard(schemes map[string]*a2apb.SecurityScheme, reqs ...*a2apb.SecurityRequirement) *a2apb.AgentCard {
	return &a2apb.AgentCard{Name: "secured", SecuritySchemes: schemes, SecurityRequirements: reqs,
		DefaultInputModes: []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"}}
}

var allSchemes = map[string]*a2apb.SecurityScheme{
	"svid":   {Scheme: &a2apb.SecurityScheme_HttpAuthSecurityScheme{HttpAuthSecurityScheme: &a2apb.HTTPAuthSecurityScheme{Scheme: "Bearer", BearerFormat: "JWT"}}},
	"apikey": {Scheme: &a2apb.SecurityScheme_ApiKeySecurityScheme{ApiKeySecurityScheme: &a2apb.APIKeySecurityScheme{Location: "header", Name: "X-API-Key"}}},
	"oauth":  {Scheme: &a2apb.SecurityScheme_Oauth2SecurityScheme{Oauth2SecurityScheme: &a2apb.OAuth2SecurityScheme{}}},
	"mtls":   {Scheme: &a2apb.SecurityScheme_MtlsSecurityScheme{MtlsSecurityScheme: &a2apb.MutualTlsSecurityScheme{}}},
}

func (f *authFixture) authenticator(t *testing.T, card *a2apb.AgentCard) *a2a.Authenticator {
	b, err := f.iss.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &a2a.Authenticator{Card: card, JWTBundles: b, X509Bundles: b, Audiences: []string{f.agentAud},
		VerifyAPIKey: func(_ context.Context, key string) (string, error) {
			if key == "good-key" {
				return "dev_keyholder", nil
			}
			return "", errors.New("unknown key")
		},
		VerifyBearer: func(_ context.Context, tok string) (string, error) {
			if tok == "oauth-token" {
				return "oauth-user", nil
			}
			return "", errors.New("unknown token")
		}}
}

// serve mounts both bindings behind auth; it returns the server.
func serve(t *testing.T, auth *a2a.Authenticator, tlsServer bool) *httptest.Server {
	t.Helper()
	s := a2a.NewServer(a2a.ServerConfig{Executor: callerExec{}, Card: auth.Card})
	t.Cleanup(func() { _ = s.Close() })
	mux := http.NewServeMux()
	mux.Handle("/rpc", auth.Middleware(a2a.BindingJSONRPC, a2a.NewJSONRPCHandler(s)))
	mux.Handle("/rest/", http.StripPrefix("/rest", auth.Middleware(a2a.BindingHTTPJSON, a2a.NewRESTHandler(s))))
	hs := httptest.NewUnstartedServer(mux)
	if tlsServer {
		hs.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		hs.StartTLS()
	} else {
		hs.Start()
	}
	t.Cleanup(hs.Close)
	return hs
}

const sendBody = `{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]}}}`

// rpcCall posts a SendMessage with the given headers and returns the status and the body.
func rpcCall(t *testing.T, hc *http.Client, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/rpc", strings.NewReader(sendBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(a2a.VersionHeader, "1.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthenticator_AcceptsEachCredentialKind(t *testing.T) {
	f := newAuthFixture(t)
	auth := f.authenticator(t, securedCard(allSchemes))
	hs := serve(t, auth, false)
	cases := []struct {
		name   string
		hdr    map[string]string
		caller string
	}{
		{"JWT-SVID for the agent", map[string]string{"Authorization": "Bearer " + f.jwt(t, "agt_payer", f.agentAud, time.Hour)}, "agt_payer"},
		{"API key", map[string]string{"X-API-Key": "good-key"}, "dev_keyholder"},
		{"OAuth2 bearer", map[string]string{"Authorization": "Bearer oauth-token"}, "oauth-user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rpcCall(t, hs.Client(), hs.URL, c.hdr)
			if status != http.StatusOK || !strings.Contains(body, "caller="+c.caller) {
				t.Fatalf("status %d body %s", status, body)
			}
		})
	}
}

func TestAuthenticator_RefusesBadCredentialsInTheBindingsFormat(t *testing.T) {
	f := newAuthFixture(t)
	auth := f.authenticator(t, securedCard(allSchemes))
	hs := serve(t, auth, false)
	wrongAud := f.jwt(t, "agt_payer", "spiffe://sovereign.test/agent/agt_other", time.Hour)
	f.setClock(time.Now().Add(-2 * time.Hour))
	expired := f.jwt(t, "agt_payer", f.agentAud, time.Minute)
	f.setClock(time.Now())
	cases := []struct {
		name, want string
		hdr        map[string]string
	}{
		{"missing", "authentication required", nil},
		{"wrong audience", "JWT-SVID", map[string]string{"Authorization": "Bearer " + wrongAud}},
		{"expired", "JWT-SVID", map[string]string{"Authorization": "Bearer " + expired}},
		{"forged", "JWT-SVID", map[string]string{"Authorization": "Bearer " + expired[:len(expired)-4] + "AAAA"}},
		{"unknown API key", "unknown key", map[string]string{"X-API-Key": "bad"}},
		{"unknown OAuth2 token", "unknown token", map[string]string{"Authorization": "Bearer nope"}},
		{"a bad key beside a good token", "unknown key", map[string]string{"X-API-Key": "bad", "Authorization": "Bearer oauth-token"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := rpcCall(t, hs.Client(), hs.URL, c.hdr)
			var res struct {
				ID    int `json:"id"`
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &res); err != nil {
				t.Fatalf("not JSON-RPC: %s", body)
			}
			if status != http.StatusUnauthorized || res.ID != 7 || res.Error.Code != a2a.CodeUnauthenticated || !strings.Contains(res.Error.Message, c.want) {
				t.Fatalf("status %d body %s", status, body)
			}
		})
	}
	// REST: 401 with the google.rpc.Status body, and the client sees CodeUnauthenticated.
	resp, err := http.Get(hs.URL + "/rest/tasks/t1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"UNAUTHENTICATED"`) || resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("REST: %d %s %v", resp.StatusCode, b, resp.Header)
	}
	c, err := a2a.NewClient(hs.URL+"/rest", a2a.BindingHTTPJSON)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: a2a.NewTextMessage(a2apb.Role_ROLE_USER, "hi")}); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Fatalf("client error: %v", err)
	}
	tok := f.jwt(t, "agt_payer", f.agentAud, time.Hour)
	c, _ = a2a.NewClient(hs.URL+"/rest", a2a.BindingHTTPJSON, a2a.WithAuth(func(_ context.Context, h http.Header) error {
		h.Set("Authorization", "Bearer "+tok)
		return nil
	}))
	res, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: a2a.NewTextMessage(a2apb.Role_ROLE_USER, "hi")})
	if err != nil || !strings.Contains(res.GetMessage().GetParts()[0].GetText(), "caller=agt_payer") {
		t.Fatalf("REST with a JWT-SVID: %v %v", res, err)
	}
}

func TestAuthenticator_MTLSClientSVID(t *testing.T) {
	f := newAuthFixture(t)
	auth := f.authenticator(t, securedCard(map[string]*a2apb.SecurityScheme{"mtls": allSchemes["mtls"]}))
	hs := serve(t, auth, true)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := f.iss.MintX509SVID(context.Background(), csr, spiffeid.RequireFromPath(f.td, "/agent/agt_tls"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{PrivateKey: key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	withCert := clientWithCert(hs, cert)
	if status, body := rpcCall(t, withCert, hs.URL, nil); status != http.StatusOK || !strings.Contains(body, "caller=agt_tls") {
		t.Fatalf("with an SVID: %d %s", status, body)
	}
	// A self-signed certificate is not an SVID of the trust domain.
	other := httptest.NewUnstartedServer(http.NotFoundHandler())
	other.StartTLS()
	defer other.Close()
	bad := clientWithCert(hs, other.TLS.Certificates[0])
	if status, body := rpcCall(t, bad, hs.URL, nil); status != http.StatusUnauthorized || !strings.Contains(body, "X.509-SVID") {
		t.Fatalf("with a foreign certificate: %d %s", status, body)
	}
	if status, _ := rpcCall(t, clientWithCert(hs), hs.URL, nil); status != http.StatusUnauthorized {
		t.Fatalf("without a certificate: %d", status)
	}
}

// clientWithCert is a client of the TLS test server hs (its own connections) presenting certs.
func clientWithCert(hs *httptest.Server, certs ...tls.Certificate) *http.Client {
	tr := hs.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = certs
	return &http.Client{Transport: tr}
}

func TestAuthenticator_RequirementsAndAuthorizeHook(t *testing.T) {
	f := newAuthFixture(t)
	// An empty requirement lets anonymous callers in; a presented bad credential still fails.
	open := f.authenticator(t, securedCard(allSchemes, &a2apb.SecurityRequirement{Schemes: map[string]*a2apb.StringList{"svid": {}}}, &a2apb.SecurityRequirement{}))
	var asked []string
	open.Authorize = func(_ context.Context, caller, method string) error {
		asked = append(asked, caller+":"+method)
		if caller == "" {
			return &a2a.Error{Code: a2a.CodeUnauthenticated, Message: "anonymous callers may not send"}
		}
		if caller == "dev_keyholder" {
			return errors.New("policy: keyholders may not send")
		}
		return nil
	}
	hs := serve(t, open, false)
	if status, body := rpcCall(t, hs.Client(), hs.URL, nil); status != http.StatusUnauthorized || !strings.Contains(body, "anonymous callers may not send") {
		t.Fatalf("anonymous: %d %s", status, body)
	}
	if status, body := rpcCall(t, hs.Client(), hs.URL, map[string]string{"X-API-Key": "good-key"}); status != http.StatusForbidden || !strings.Contains(body, "keyholders may not send") || !strings.Contains(body, `"code":-32043`) {
		t.Fatalf("refused by the hook: %d %s", status, body)
	}
	tok := f.jwt(t, "agt_payer", f.agentAud, time.Hour)
	if status, body := rpcCall(t, hs.Client(), hs.URL, map[string]string{"Authorization": "Bearer " + tok}); status != http.StatusOK {
		t.Fatalf("allowed: %d %s", status, body)
	}
	want := []string{":SendMessage", "dev_keyholder:SendMessage", "agt_payer:SendMessage"}
	if strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Fatalf("asked %v, want %v", asked, want)
	}
	// A v0.3 method name reaches the hook under its v1.0 name; REST routes too.
	asked = nil
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/rpc", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"t1"}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := hs.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodGet, hs.URL+"/rest/tasks/t1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := hs.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	if strings.Join(asked, ",") != "agt_payer:GetTask,agt_payer:GetTask" {
		t.Fatalf("asked %v", asked)
	}
	// Requirement AND: both the SVID and the key are needed.
	both := f.authenticator(t, securedCard(allSchemes, &a2apb.SecurityRequirement{Schemes: map[string]*a2apb.StringList{"svid": {}, "apikey": {}}}))
	hs2 := serve(t, both, false)
	if status, _ := rpcCall(t, hs2.Client(), hs2.URL, map[string]string{"Authorization": "Bearer " + tok}); status != http.StatusUnauthorized {
		t.Fatalf("one of two required: %d", status)
	}
	if status, body := rpcCall(t, hs2.Client(), hs2.URL, map[string]string{"Authorization": "Bearer " + tok, "X-API-Key": "good-key"}); status != http.StatusOK || !strings.Contains(body, "caller=agt_payer") {
		t.Fatalf("both: %d %s", status, body)
	}
}

func TestAuthenticator_CardWithoutSchemesIsOpen(t *testing.T) {
	auth := &a2a.Authenticator{Card: &a2apb.AgentCard{Name: "open"}}
	hs := serve(t, auth, false)
	if status, body := rpcCall(t, hs.Client(), hs.URL, map[string]string{"Authorization": "Bearer whatever"}); status != http.StatusOK || !strings.Contains(body, "caller=") {
		t.Fatalf("%d %s", status, body)
	}
}

func TestHTTPBundleSource_FetchesAndCaches(t *testing.T) {
	f := newAuthFixture(t)
	b, err := f.iss.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	fetches := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetches++
		mu.Unlock()
		_, _ = w.Write(doc)
	}))
	defer hs.Close()
	src := &a2a.HTTPBundleSource{URL: hs.URL, TrustDomain: f.td}
	auth := &a2a.Authenticator{Card: securedCard(map[string]*a2apb.SecurityScheme{"svid": allSchemes["svid"]}), JWTBundles: src, Audiences: []string{f.agentAud}}
	srv := serve(t, auth, false)
	for range 3 {
		if status, body := rpcCall(t, srv.Client(), srv.URL, map[string]string{"Authorization": "Bearer " + f.jwt(t, "agt_payer", f.agentAud, time.Hour)}); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fetches != 1 {
		t.Fatalf("fetched %d times, want 1", fetches)
	}
	if _, err := src.GetJWTBundleForTrustDomain(spiffeid.RequireTrustDomainFromString("other.test")); err == nil {
		t.Fatal("a bundle for another trust domain")
	}
}

// serveGRPC serves the agent over gRPC behind auth's interceptors (with TLS when tlsCfg is set)
// and returns its address.
func serveGRPC(t *testing.T, auth *a2a.Authenticator, tlsCfg *tls.Config) string {
	t.Helper()
	s := a2a.NewServer(a2a.ServerConfig{Executor: callerExec{}, Card: auth.Card})
	t.Cleanup(func() { _ = s.Close() })
	var opts []grpc.ServerOption
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	gs := a2a.NewGRPCServer(s, auth, opts)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// grpcSend sends "hi" over gRPC and returns the answer's text.
func grpcSend(t *testing.T, endpoint string, opts ...a2a.ClientOption) (string, error) {
	t.Helper()
	c, err := a2a.NewClient(endpoint, a2a.BindingGRPC, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: &a2apb.Message{MessageId: "m1", Role: a2apb.Role_ROLE_USER,
		Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "hi"}}}}})
	if err != nil {
		return "", err
	}
	return res.GetMessage().GetParts()[0].GetText(), nil
}

// TestAuthenticator_GRPC: the same Authenticator in front of the gRPC binding — bearer tokens
// and API keys from the metadata, the mTLS peer's X.509-SVID — and refusals as
// UNAUTHENTICATED with the A2A code.
func TestAuthenticator_GRPC(t *testing.T) {
	f := newAuthFixture(t)
	addr := serveGRPC(t, f.authenticator(t, securedCard(allSchemes)), nil)
	header := func(k, v string) a2a.ClientOption {
		return a2a.WithAuth(func(_ context.Context, h http.Header) error { h.Set(k, v); return nil })
	}
	for _, c := range []struct {
		name, key, value, caller string
	}{
		{"JWT-SVID", "Authorization", "Bearer " + f.jwt(t, "agt_payer", f.agentAud, time.Hour), "agt_payer"},
		{"API key", "X-API-Key", "good-key", "dev_keyholder"},
		{"OAuth2 bearer", "Authorization", "Bearer oauth-token", "oauth-user"},
	} {
		got, err := grpcSend(t, "grpc://"+addr, header(c.key, c.value))
		if err != nil || got != "caller="+c.caller {
			t.Fatalf("%s: %q, %v", c.name, got, err)
		}
	}
	for _, c := range []struct{ name, key, value string }{
		{"no credential", "", ""},
		{"bad token", "Authorization", "Bearer nope"},
		{"bad key", "X-API-Key", "bad"},
	} {
		var opts []a2a.ClientOption
		if c.key != "" {
			opts = append(opts, header(c.key, c.value))
		}
		_, err := grpcSend(t, "grpc://"+addr, opts...)
		var e *a2a.Error
		if !errors.As(err, &e) || e.Code != a2a.CodeUnauthenticated {
			t.Fatalf("%s: %v", c.name, err)
		}
	}

	// mTLS: the client's X.509-SVID is the caller.
	mauth := f.authenticator(t, securedCard(map[string]*a2apb.SecurityScheme{"mtls": allSchemes["mtls"]}))
	hs := httptest.NewUnstartedServer(http.NotFoundHandler())
	hs.StartTLS()
	defer hs.Close()
	maddr := serveGRPC(t, mauth, &tls.Config{Certificates: hs.TLS.Certificates, ClientAuth: tls.RequestClientCert})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := f.iss.MintX509SVID(context.Background(), csr, spiffeid.RequireFromPath(f.td, "/agent/agt_grpc"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{PrivateKey: key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	tlsWith := func(certs ...tls.Certificate) *tls.Config {
		cfg := hs.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		cfg.Certificates = certs
		return cfg
	}
	if got, err := grpcSend(t, "grpcs://"+maddr, a2a.WithTLSConfig(tlsWith(cert))); err != nil || got != "caller=agt_grpc" {
		t.Fatalf("with an SVID: %q, %v", got, err)
	}
	if _, err := grpcSend(t, "grpcs://"+maddr, a2a.WithTLSConfig(tlsWith())); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Fatalf("without a certificate: %v", err)
	}
}
