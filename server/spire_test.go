package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/identity/spiretest"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// TestSpire runs the stack in spire mode against a real spire-server and spire-agent: agent
// SVIDs minted through the SPIRE Server API and verified against SPIRE's bundle, and split
// mode with both services' own SVIDs from the Workload API.
func TestSpire(t *testing.T) {
	if testing.Short() {
		t.Skip("SPIRE integration test skipped in -short mode")
	}
	sp := spiretest.Start(t, spiretest.Options{TrustDomain: splitTD.Name()})
	// The registry and the TEG run in this process: both entries select its uid, and each
	// service picks its own SVID by ID.
	registryID := spiffeid.RequireFromPath(splitTD, "/registry/main")
	tegID := spiffeid.RequireFromPath(splitTD, "/teg")
	sp.Register(t, spiretest.Entry{ID: registryID})
	sp.Register(t, spiretest.Entry{ID: tegID})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// SPIRE's bundle as the Server API serves it, independently of the servers under test.
	spire, err := identity.NewSpire(ctx, identity.SpireConfig{ServerSocket: sp.ServerSocket, TrustDomain: splitTD})
	if err != nil {
		t.Fatal(err)
	}
	defer spire.Close()

	t.Run("AllInOne", func(t *testing.T) {
		eachStack(t, func(t *testing.T, s *stack) { testSpireAllInOne(ctx, t, s, spire) }, spireMode(sp), withGenesis)
	})
	t.Run("Split", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) { testSpireSplit(ctx, t, db, sp, spire) })
	})
}

// spireMode configures a stack for spire mode against sp.
func spireMode(sp *spiretest.SPIRE) stackOption {
	return func(c *config.Config) {
		c.IdentityMode, c.SpireServerSocket = config.IdentitySpire, sp.ServerSocket
	}
}

// testSpireAllInOne onboards an agent on a RoleAll stack in spire mode: its JWT-SVID from the
// token endpoint and its X.509-SVID are SPIRE's, and the JWT-SVID reads its balance.
func testSpireAllInOne(ctx context.Context, t *testing.T, s *stack, spire *identity.Spire) {
	if _, ok := s.server.Issuer().(*identity.Spire); !ok {
		t.Fatalf("issuer %T in spire mode, want *identity.Spire", s.server.Issuer())
	}
	ada := s.register("ada@example.com", true)
	token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(ada.Access)).want(t, 201, "").str("token")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	body := map[string]any{"card": card("Spire Agent", "Registered under SPIRE", "spire"),
		"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
		"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}

	// SPIRE takes the SVID's ID from the CSR, which a registering agent cannot name yet: a
	// registration CSR is refused, clearly, and nothing is registered.
	der, _ := csrFor(t, "")
	withCSR := map[string]any{"csr": csrPEM(der)}
	for k, v := range body {
		withCSR[k] = v
	}
	if r := s.do("POST", "/api/v1/onboard/register", withCSR, hdr{"Bootstrap-Token", token}).want(t, 400, identity.CodeInvalidCSR); !strings.Contains(string(r.Raw), "/api/v1/identity/svid") {
		t.Errorf("the refusal does not say where to get the SVID: %s", r.Raw)
	}

	reg := s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 201, "")
	agentID, spiffeID := reg.str("agent_id"), reg.str("spiffe_id")
	if spiffeID != "spiffe://sovereign.test/agent/"+agentID {
		t.Fatalf("registration: %s", reg.Raw)
	}

	// The agent's JWT-SVID from the OAuth token endpoint is minted by SPIRE.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {reg.str("client_id")}, "client_secret": {reg.str("client_secret")}}
	at := s.do("POST", "/api/v1/auth/agent/token", form.Encode(), hdr{"Content-Type", "application/x-www-form-urlencoded"}).want(t, 200, "")
	bundle, err := spire.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tegAud := spiffeid.RequireFromPath(splitTD, "/teg").String()
	jwt, err := jwtsvid.ParseAndValidate(at.str("access_token"), bundle, []string{tegAud})
	if err != nil {
		t.Fatalf("the agent's token is not a JWT-SVID of SPIRE's: %v", err)
	}
	if jwt.ID.String() != spiffeID {
		t.Errorf("JWT-SVID for %s, want %s", jwt.ID, spiffeID)
	}
	agent := bearer(at.str("access_token"))
	if bal := s.do("GET", "/api/v1/token/balance", nil, agent).want(t, 200, ""); bal.str("account") != agentID || bal.str("liquid") != "100" {
		t.Fatalf("balance with the SPIRE JWT-SVID: %s", bal.Raw)
	}

	// Its X.509-SVID, from a CSR naming its SPIFFE ID, chains to SPIRE's bundle.
	der, tlsKey := csrFor(t, spiffeID)
	svid := s.do("POST", "/api/v1/identity/svid", map[string]any{"csr": csrPEM(der)}, agent).want(t, 201, "")
	chain := parsePEMChain(t, svid.str("cert_chain_pem"))
	if bundle, err = spire.Bundle(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, err := x509svid.Verify(chain, bundle)
	if err != nil {
		t.Fatalf("the agent's X.509-SVID does not verify against SPIRE's bundle: %v", err)
	}
	if got.String() != spiffeID || !chain[0].PublicKey.(*ecdsa.PublicKey).Equal(&tlsKey.PublicKey) {
		t.Errorf("X.509-SVID for %s (key matches: %v), want %s", got, chain[0].PublicKey.(*ecdsa.PublicKey).Equal(&tlsKey.PublicKey), spiffeID)
	}

	// The bundle endpoints serve SPIRE's bundle, and readiness checks the Server API.
	served, err := spiffebundle.Parse(splitTD, s.do("GET", "/.well-known/spiffe-bundle", nil).want(t, 200, "").Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !served.X509Bundle().Equal(bundle.X509Bundle()) {
		t.Error("/.well-known/spiffe-bundle is not SPIRE's X.509 bundle")
	}
	if r := s.do("GET", "/readyz", nil).want(t, 200, ""); !strings.Contains(string(r.Raw), `"spire":"ok"`) {
		t.Errorf("readyz: %s", r.Raw)
	}
}

// testSpireSplit runs a TEG and a registry in spire mode, each with its own SVID from the
// Workload API, the registry opening and funding a wallet on the TEG over mTLS, and an agent
// with an X.509-SVID minted through the Server API reading its balance there.
func testSpireSplit(ctx context.Context, t *testing.T, db *store.DB, sp *spiretest.SPIRE, spire *identity.Spire) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	spireSplitConfig := func() config.Config {
		cfg := splitConfig(t, 0)
		cfg.IdentityMode, cfg.SpireServerSocket = config.IdentitySpire, sp.ServerSocket
		if err := cfg.Finish(); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	// The TEG finds the Workload API through the standard variable, the registry through its
	// setting.
	t.Setenv(identity.EndpointSocketEnv, sp.WorkloadAddr)
	tegSrv, err := server.New(ctx, server.Options{Config: spireSplitConfig(), DB: db, Role: server.RoleTEG, PasswordParams: fastPasswords, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tegSrv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- tegSrv.ServeMTLS(srvCtx, ln) }()
	split := &split{teg: tegSrv, tegHTTP: httptest.NewServer(tegSrv.Handler()), tegMTLS: "https://" + ln.Addr().String(), tegKey: tegSrv.AdminKey}
	t.Cleanup(func() {
		split.tegHTTP.Close()
		stop()
		if err := <-served; err != nil {
			t.Errorf("ServeMTLS: %v", err)
		}
	})

	t.Setenv(identity.EndpointSocketEnv, "")
	regCfg := spireSplitConfig()
	regCfg.TEGURL, regCfg.SpireWorkloadSocket = split.tegMTLS, sp.WorkloadAddr
	split.registry, err = server.New(ctx, server.Options{Config: regCfg, DB: secondDB(t, db), Role: server.RoleRegistry, PasswordParams: fastPasswords, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { split.registry.Close() })

	// Both services hold their own SVIDs from the Workload API, chaining to SPIRE's bundle.
	bundle, err := spire.Bundle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		srv  *server.Server
		want string
	}{{tegSrv, "spiffe://sovereign.test/teg"}, {split.registry, "spiffe://sovereign.test/registry/main"}} {
		src, ok := c.srv.SVIDSource().(*workloadapi.X509Source)
		if !ok {
			t.Fatalf("%s: SVID source %T, want the Workload API's", c.want, c.srv.SVIDSource())
		}
		svid, err := src.GetX509SVID()
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := x509svid.Verify(svid.Certificates, bundle); err != nil || got.String() != c.want || c.srv.ServiceID().String() != c.want {
			t.Errorf("service SVID %s (ServiceID %s): %v, want %s", got, c.srv.ServiceID(), err, c.want)
		}
	}

	// The registry opens and funds a wallet on the TEG over mTLS.
	split.mint(t, "1000")
	w := split.registry.Wallets()
	if _, err := w.OpenWallet(ctx, "agt_spire", "open-agt_spire"); err != nil {
		t.Fatalf("open a wallet over mTLS: %v", err)
	}
	if _, _, err := w.Grant(ctx, "agt_spire", mustAVT(t, "7"), "welcome", "grant-agt_spire"); err != nil {
		t.Fatalf("grant over mTLS: %v", err)
	}
	if bal, err := w.Balance(ctx, "agt_spire"); err != nil || bal.Liquid.String() != "7" {
		t.Fatalf("balance over mTLS: %+v %v", bal, err)
	}
	rr := httptest.NewRecorder()
	split.registry.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/readyz", nil))
	if rr.Code != 200 || !strings.Contains(rr.Body.String(), `"teg":"ok"`) || !strings.Contains(rr.Body.String(), `"spire":"ok"`) {
		t.Fatalf("registry /readyz: %d %s", rr.Code, rr.Body)
	}

	// An agent with an X.509-SVID the registry's issuer minted through the SPIRE Server API
	// is the agent on the TEG's mTLS listener.
	res, err := clientAs(t, split.registry.Issuer(), "spiffe://sovereign.test/agent/agt_spire").Get(split.tegMTLS + "/api/v1/token/balance")
	if err != nil {
		t.Fatal(err)
	}
	var bal map[string]any
	_ = json.NewDecoder(res.Body).Decode(&bal)
	res.Body.Close()
	if res.StatusCode != 200 || bal["account"] != "agt_spire" || bal["liquid"] != "7" {
		t.Fatalf("agent balance over mTLS: %d %v", res.StatusCode, bal)
	}
}

// parsePEMChain parses PEM certificates, leaf first.
func parsePEMChain(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var chain []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		t.Fatalf("no certificates in %q", s)
	}
	return chain
}

// TestSpire_UnreachableServerAPIFailsTheStart: spire mode with no SPIRE server listening
// fails at start, naming the socket, rather than falling back to the builtin CA.
func TestSpire_UnreachableServerAPIFailsTheStart(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.IdentityMode, cfg.SpireServerSocket = config.IdentitySpire, filepath.Join(t.TempDir(), "no-server.sock")
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := newServerErr(cfg)
	if err == nil || !strings.Contains(err.Error(), cfg.SpireServerSocket) {
		t.Fatalf("New = %v, want an error naming %s", err, cfg.SpireServerSocket)
	}
	t.Logf("%v (after %s)", err, time.Since(start).Round(time.Millisecond))
}
