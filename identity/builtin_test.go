package identity

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/apperr"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newCA(t testing.TB, opts ...Option) (*Builtin, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := NewBuiltin(dir, td, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ca, dir
}

// csrFor makes a P-256 key and a CSR naming uris (none if empty).
func csrFor(t testing.TB, uris ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return csrWithKey(t, key, uris...)
}

func csrWithKey(t testing.TB, key *ecdsa.PrivateKey, uris ...string) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{}
	for _, u := range uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func bundleOf(t testing.TB, ca *Builtin) *spiffebundle.Bundle {
	t.Helper()
	b, err := ca.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func agent(t testing.TB, name string) spiffeid.ID {
	t.Helper()
	id, err := AgentID(td, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mintX509(t testing.TB, ca *Builtin, id spiffeid.ID, ttl time.Duration) []*x509.Certificate {
	t.Helper()
	chain, err := ca.MintX509SVID(context.Background(), csrFor(t, id.String()), id, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return chain
}

func mintJWT(t testing.TB, ca *Builtin, id spiffeid.ID, aud string) string {
	t.Helper()
	tok, err := ca.MintJWTSVID(context.Background(), id, []string{aud}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("code %s (%v), want %s", got, err, code)
	}
}

func TestX509SVIDVerifiesWithGoSPIFFE(t *testing.T) {
	clock := newFakeClock(time.Now())
	ca, _ := newCA(t, WithClock(clock.Now))
	id := agent(t, "agt_1")

	for _, csr := range [][]byte{csrFor(t, id.String()), csrFor(t)} { // with and without a URI SAN
		chain, err := ca.MintX509SVID(context.Background(), csr, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, chains, err := x509svid.Verify(chain, bundleOf(t, ca), x509svid.WithTime(clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if got != id || len(chains) != 1 || len(chains[0]) != 3 {
			t.Fatalf("verified %s with %d chains", got, len(chains))
		}
		leaf := chain[0]
		now := clock.Now()
		switch {
		case len(leaf.URIs) != 1 || leaf.URIs[0].String() != id.String():
			t.Errorf("URIs %v", leaf.URIs)
		case len(leaf.DNSNames)+len(leaf.EmailAddresses)+len(leaf.IPAddresses) != 0:
			t.Error("leaf has other SANs")
		case leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature:
			t.Errorf("IsCA %v KeyUsage %v", leaf.IsCA, leaf.KeyUsage)
		case len(leaf.ExtKeyUsage) != 2 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth:
			t.Errorf("ExtKeyUsage %v", leaf.ExtKeyUsage)
		case leaf.SerialNumber.BitLen() < 100 || leaf.SerialNumber.BitLen() > 128:
			t.Errorf("serial of %d bits", leaf.SerialNumber.BitLen())
		case !leaf.NotBefore.Before(now.Add(-20*time.Second)) || leaf.NotBefore.Before(now.Add(-time.Minute)):
			t.Errorf("NotBefore %v, now %v", leaf.NotBefore, now)
		case leaf.NotAfter.Sub(now) > time.Hour || leaf.NotAfter.Sub(now) < time.Hour-time.Second:
			t.Errorf("NotAfter %v, now %v: want 1h", leaf.NotAfter, now)
		}
	}

	// The leaf and signing CA work as a TLS chain: ExtKeyUsage ServerAuth and ClientAuth.
	chain := mintX509(t, ca, id, time.Minute)
	roots := x509.NewCertPool()
	for _, r := range bundleOf(t, ca).X509Authorities() {
		roots.AddCert(r)
		if !r.IsCA || len(r.URIs) != 1 || r.URIs[0].String() != "spiffe://sovereign.test" {
			t.Errorf("root %v", r.URIs)
		}
	}
	inter := x509.NewCertPool()
	inter.AddCert(chain[1])
	for _, eku := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{eku}, CurrentTime: clock.Now()}); err != nil {
			t.Errorf("EKU %v: %v", eku, err)
		}
	}
}

func TestX509SVIDRefused(t *testing.T) {
	ca, _ := newCA(t)
	id := agent(t, "agt_1")
	chain := mintX509(t, ca, id, time.Minute)
	bundle := bundleOf(t, ca)

	t.Run("expired", func(t *testing.T) {
		if _, _, err := x509svid.Verify(chain, bundle, x509svid.WithTime(time.Now().Add(2*time.Minute))); err == nil {
			t.Fatal("an expired SVID verified")
		}
		// Minted in the past with a short TTL, verified now.
		clock := newFakeClock(time.Now().Add(-2 * time.Hour))
		old, _ := newCA(t, WithClock(clock.Now))
		c := mintX509(t, old, id, time.Minute)
		if _, _, err := x509svid.Verify(c, bundleOf(t, old)); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired SVID: %v", err)
		}
	})
	t.Run("another CA of the same trust domain", func(t *testing.T) {
		other, _ := newCA(t)
		if _, _, err := x509svid.Verify(chain, bundleOf(t, other)); err == nil {
			t.Fatal("verified against another CA's bundle")
		}
	})
	t.Run("wrong trust domain", func(t *testing.T) {
		otherTD := spiffeid.RequireTrustDomainFromString("elsewhere.test")
		other, err := NewBuiltin(t.TempDir(), otherTD)
		if err != nil {
			t.Fatal(err)
		}
		otherID := spiffeid.RequireFromSegments(otherTD, "agent", "agt_1")
		c, err := other.MintX509SVID(context.Background(), csrFor(t), otherID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := x509svid.Verify(c, bundle); err == nil {
			t.Fatal("an SVID of another trust domain verified")
		}
	})
	t.Run("tampered", func(t *testing.T) {
		raw := bytes.Clone(chain[0].Raw)
		raw[len(raw)-5] ^= 0x01 // inside the signature
		leaf, err := x509.ParseCertificate(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := x509svid.Verify([]*x509.Certificate{leaf, chain[1]}, bundle); err == nil {
			t.Fatal("a tampered SVID verified")
		}
	})
	t.Run("without its intermediate", func(t *testing.T) {
		if _, _, err := x509svid.Verify(chain[:1], bundle); err == nil {
			t.Fatal("verified without the signing CA")
		}
	})
}

func TestMintX509SVIDBadInput(t *testing.T) {
	ca, _ := newCA(t)
	ctx := context.Background()
	id := agent(t, "agt_1")
	good := csrFor(t, id.String())

	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	badSig := bytes.Clone(good)
	badSig[len(badSig)-3] ^= 0x01

	for _, tc := range []struct {
		name string
		csr  []byte
		id   spiffeid.ID
		ttl  time.Duration
		code string
		kind apperr.Kind
	}{
		{"empty", nil, id, 0, CodeInvalidCSR, apperr.BadRequest},
		{"garbage", []byte("-----BEGIN CERTIFICATE REQUEST-----\nnot der\n"), id, 0, CodeInvalidCSR, apperr.BadRequest},
		{"PEM instead of DER", pemCSR(good), id, 0, CodeInvalidCSR, apperr.BadRequest},
		{"trailing data", append(bytes.Clone(good), 0), id, 0, CodeInvalidCSR, apperr.BadRequest},
		{"bad signature", badSig, id, 0, CodeInvalidCSR, apperr.BadRequest},
		{"oversized", append(bytes.Clone(good), make([]byte, MaxCSRSize)...), id, 0, CodeCSRTooLarge, apperr.TooLarge},
		{"weak curve", csrWithKey(t, p224), id, 0, CodeInvalidCSR, apperr.BadRequest},
		{"another SPIFFE ID", csrFor(t, "spiffe://sovereign.test/agent/agt_2"), id, 0, CodeCSRIDMismatch, apperr.Forbidden},
		{"the registry's ID", csrFor(t, "spiffe://sovereign.test/registry/main"), id, 0, CodeCSRIDMismatch, apperr.Forbidden},
		{"two URI SANs", csrFor(t, id.String(), "spiffe://sovereign.test/teg"), id, 0, CodeCSRIDMismatch, apperr.Forbidden},
		{"a non-SPIFFE URI", csrFor(t, "https://sovereign.test/agent/agt_1"), id, 0, CodeCSRIDMismatch, apperr.Forbidden},
		{"ID outside the trust domain", csrFor(t), spiffeid.RequireFromString("spiffe://elsewhere.test/agent/agt_1"), 0, CodeWrongTrustDomain, apperr.Forbidden},
		{"zero ID", good, spiffeid.ID{}, 0, CodeInvalidSPIFFEID, apperr.Invalid},
		{"negative TTL", good, id, -time.Second, CodeInvalidTTL, apperr.Invalid},
		{"TTL too long", good, id, MaxX509SVIDTTL + time.Second, CodeInvalidTTL, apperr.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := ca.MintX509SVID(ctx, tc.csr, tc.id, tc.ttl)
			if chain != nil {
				t.Error("something was issued")
			}
			wantCode(t, err, tc.code)
			if k := apperr.KindOf(err); k != tc.kind {
				t.Errorf("kind %v, want %v", k, tc.kind)
			}
		})
	}
}

func pemCSR(der []byte) []byte {
	return []byte("-----BEGIN CERTIFICATE REQUEST-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END CERTIFICATE REQUEST-----\n")
}

func TestX509SVIDTTLCappedAtCA(t *testing.T) {
	clock := newFakeClock(time.Now())
	ca, _ := newCA(t, WithClock(clock.Now), WithSigningCATTL(90*time.Minute))
	clock.Advance(40 * time.Minute) // before half-life: no rotation, 50 minutes left
	chain := mintX509(t, ca, agent(t, "a"), 0)
	if !chain[0].NotAfter.Equal(chain[1].NotAfter) {
		t.Fatalf("leaf NotAfter %v, CA NotAfter %v", chain[0].NotAfter, chain[1].NotAfter)
	}
	if _, _, err := x509svid.Verify(chain, bundleOf(t, ca), x509svid.WithTime(clock.Now())); err != nil {
		t.Fatal(err)
	}
}

func TestJWTSVIDVerifiesWithGoSPIFFE(t *testing.T) {
	ca, _ := newCA(t)
	id := agent(t, "agt_1")
	aud := "spiffe://sovereign.test/registry/main"
	tok, err := ca.MintJWTSVID(context.Background(), id, []string{aud, "spiffe://sovereign.test/teg"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	bundle := bundleOf(t, ca)
	svid, err := jwtsvid.ParseAndValidate(tok, bundle, []string{aud})
	if err != nil {
		t.Fatal(err)
	}
	if svid.ID != id || len(svid.Audience) != 2 || svid.Audience[0] != aud {
		t.Fatalf("svid %s %v", svid.ID, svid.Audience)
	}
	if d := time.Until(svid.Expiry); d > DefaultJWTSVIDTTL || d < DefaultJWTSVIDTTL-2*time.Second {
		t.Errorf("expires in %v, want %v", d, DefaultJWTSVIDTTL)
	}
	if _, ok := svid.Claims["iat"]; !ok {
		t.Error("no iat")
	}
	hdr := header(t, tok)
	if hdr["alg"] != "ES256" || hdr["typ"] != "JWT" {
		t.Errorf("header %v", hdr)
	}
	kid, _ := hdr["kid"].(string)
	if !bundle.HasJWTAuthority(kid) || len(bundle.JWTAuthorities()) != 1 {
		t.Errorf("kid %q not the bundle's JWT authority", kid)
	}
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestJWTSVIDRefused(t *testing.T) {
	ca, _ := newCA(t)
	ctx := context.Background()
	id := agent(t, "agt_1")
	aud := []string{"spiffe://sovereign.test/registry/main"}
	tok := mintJWT(t, ca, id, aud[0])
	bundle := bundleOf(t, ca)
	kid := header(t, tok)["kid"].(string)
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString

	refused := func(t *testing.T, token string, b *spiffebundle.Bundle, audience []string) {
		t.Helper()
		if svid, err := jwtsvid.ParseAndValidate(token, b, audience); err == nil {
			t.Fatalf("accepted: %v", svid.ID)
		}
	}
	t.Run("wrong audience", func(t *testing.T) {
		refused(t, tok, bundle, []string{"spiffe://sovereign.test/teg"})
	})
	t.Run("expired", func(t *testing.T) {
		clock := newFakeClock(time.Now().Add(-time.Hour))
		old, _ := newCA(t, WithClock(clock.Now))
		refused(t, mintJWT(t, old, id, aud[0]), bundleOf(t, old), aud)
	})
	t.Run("another CA of the same trust domain", func(t *testing.T) {
		other, _ := newCA(t)
		refused(t, tok, bundleOf(t, other), aud)
		refused(t, mintJWT(t, other, id, aud[0]), bundle, aud)
	})
	t.Run("wrong trust domain", func(t *testing.T) {
		otherTD := spiffeid.RequireTrustDomainFromString("elsewhere.test")
		other, err := NewBuiltin(t.TempDir(), otherTD)
		if err != nil {
			t.Fatal(err)
		}
		tok2, err := other.MintJWTSVID(ctx, spiffeid.RequireFromSegments(otherTD, "agent", "a"), aud, 0)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, tok2, bundle, aud)
	})
	t.Run("tampered payload", func(t *testing.T) {
		payload := enc([]byte(`{"sub":"spiffe://sovereign.test/agent/admin","aud":["` + aud[0] + `"],"exp":` + jsonNum(time.Now().Add(time.Hour)) + `}`))
		refused(t, parts[0]+"."+payload+"."+parts[2], bundle, aud)
	})
	t.Run("tampered signature", func(t *testing.T) {
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[0] ^= 1
		refused(t, parts[0]+"."+parts[1]+"."+enc(sig), bundle, aud)
	})
	t.Run("alg none", func(t *testing.T) {
		h := enc([]byte(`{"alg":"none","typ":"JWT","kid":"` + kid + `"}`))
		refused(t, h+"."+parts[1]+".", bundle, aud)
	})
	t.Run("HS256 keyed with the public key", func(t *testing.T) {
		pub, _ := bundle.FindJWTAuthority(kid)
		pubDER, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range [][]byte{pubDER, []byte(kid)} {
			h := enc([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + kid + `"}`))
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(h + "." + parts[1]))
			refused(t, h+"."+parts[1]+"."+enc(mac.Sum(nil)), bundle, aud)
		}
		// The same through a library, as an attacker would.
		forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": id.String(), "aud": aud, "exp": time.Now().Add(time.Hour).Unix()})
		forged.Header["kid"] = kid
		s, err := forged.SignedString(pubDER)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, s, bundle, aud)
	})
	t.Run("unknown kid", func(t *testing.T) {
		h := enc([]byte(`{"alg":"ES256","typ":"JWT","kid":"nope"}`))
		refused(t, h+"."+parts[1]+"."+parts[2], bundle, aud)
	})
}

func jsonNum(t time.Time) string {
	b, _ := json.Marshal(t.Unix())
	return string(b)
}

func TestMintJWTSVIDBadInput(t *testing.T) {
	ca, _ := newCA(t)
	ctx := context.Background()
	id := agent(t, "agt_1")
	for _, tc := range []struct {
		name string
		id   spiffeid.ID
		aud  []string
		ttl  time.Duration
		code string
	}{
		{"no audience", id, nil, 0, CodeInvalidAudience},
		{"empty audience", id, []string{"a", ""}, 0, CodeInvalidAudience},
		{"zero ID", spiffeid.ID{}, []string{"a"}, 0, CodeInvalidSPIFFEID},
		{"other trust domain", spiffeid.RequireFromString("spiffe://elsewhere.test/x"), []string{"a"}, 0, CodeWrongTrustDomain},
		{"negative TTL", id, []string{"a"}, -1, CodeInvalidTTL},
		{"TTL too long", id, []string{"a"}, MaxJWTSVIDTTL + 1, CodeInvalidTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ca.MintJWTSVID(ctx, tc.id, tc.aud, tc.ttl)
			if tok != "" {
				t.Error("a token was issued")
			}
			wantCode(t, err, tc.code)
		})
	}
}

func TestKeysPersistAndReload(t *testing.T) {
	ca, dir := newCA(t)
	id := agent(t, "agt_1")
	chain := mintX509(t, ca, id, 0)
	tok := mintJWT(t, ca, id, "aud")
	before := bundleOf(t, ca)

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v", fi.Mode().Perm(), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 3 {
		t.Fatalf("files %v, want root, signing CA and JWT key", files)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, %v", f, fi.Mode().Perm(), err)
		}
	}

	again, err := NewBuiltin(dir, td)
	if err != nil {
		t.Fatal(err)
	}
	after := bundleOf(t, again)
	if !before.Equal(after) {
		t.Fatal("the bundle changed across a restart")
	}
	if _, _, err := x509svid.Verify(chain, after); err != nil {
		t.Fatal(err)
	}
	if _, err := jwtsvid.ParseAndValidate(tok, after, []string{"aud"}); err != nil {
		t.Fatal(err)
	}
	chain2 := mintX509(t, again, id, 0)
	if !chain2[1].Equal(chain[1]) {
		t.Error("the signing CA changed across a restart")
	}
	tok2 := mintJWT(t, again, id, "aud")
	if header(t, tok2)["kid"] != header(t, tok)["kid"] {
		t.Error("the JWT key changed across a restart")
	}
	if _, err := jwtsvid.ParseAndValidate(tok2, before, []string{"aud"}); err != nil {
		t.Fatal(err)
	}

	t.Run("refuses readable key files", func(t *testing.T) {
		if err := os.Chmod(files[0], 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(files[0], 0o600)
		if _, err := NewBuiltin(dir, td); err == nil || !strings.Contains(err.Error(), "0600") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("refuses another trust domain", func(t *testing.T) {
		if _, err := NewBuiltin(dir, spiffeid.RequireTrustDomainFromString("elsewhere.test")); err == nil {
			t.Fatal("opened with another trust domain")
		}
	})
	t.Run("refuses a corrupt key file", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "ca")
		if _, err := NewBuiltin(d, td); err != nil {
			t.Fatal(err)
		}
		fs, _ := filepath.Glob(filepath.Join(d, "root-*.pem"))
		if err := os.WriteFile(fs[0], []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := NewBuiltin(d, td); err == nil {
			t.Fatal("opened a corrupt CA")
		}
	})
}

func TestRotateKeepsOldSVIDsVerifying(t *testing.T) {
	clock := newFakeClock(time.Now())
	ca, dir := newCA(t, WithClock(clock.Now))
	id := agent(t, "agt_1")
	oldChain := mintX509(t, ca, id, 0)
	oldTok := mintJWT(t, ca, id, "aud")

	if err := ca.Rotate(); err != nil {
		t.Fatal(err)
	}
	newChain := mintX509(t, ca, id, 0)
	newTok := mintJWT(t, ca, id, "aud")
	if newChain[1].Equal(oldChain[1]) {
		t.Fatal("the signing CA did not change")
	}
	if header(t, newTok)["kid"] == header(t, oldTok)["kid"] {
		t.Fatal("the JWT key did not change")
	}
	bundle := bundleOf(t, ca)
	if n := len(bundle.JWTAuthorities()); n != 2 {
		t.Fatalf("%d JWT authorities, want old and new", n)
	}
	for _, c := range [][]*x509.Certificate{oldChain, newChain} {
		if _, _, err := x509svid.Verify(c, bundle, x509svid.WithTime(clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []string{oldTok, newTok} {
		if _, err := jwtsvid.ParseAndValidate(tok, bundle, []string{"aud"}); err != nil {
			t.Fatal(err)
		}
	}
	// The overlap survives a restart.
	again, err := NewBuiltin(dir, td, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if !bundleOf(t, again).Equal(bundle) {
		t.Fatal("the bundle changed across a restart after rotation")
	}

	// Once the old JWT key expires it leaves the bundle, and its file the directory.
	clock.Advance(DefaultJWTKeyTTL + time.Second)
	bundle = bundleOf(t, ca)
	if bundle.HasJWTAuthority(header(t, oldTok)["kid"].(string)) {
		t.Fatal("an expired JWT key is still in the bundle")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "jwt-*.pem")); len(files) != 1 {
		t.Fatalf("JWT key files %v", files)
	}
}

func TestAutomaticRotation(t *testing.T) {
	clock := newFakeClock(time.Now())
	ca, dir := newCA(t, WithClock(clock.Now), WithRootTTL(48*time.Hour), WithSigningCATTL(4*time.Hour), WithJWTKeyTTL(4*time.Hour))
	id := agent(t, "agt_1")
	first := mintX509(t, ca, id, 0)
	firstTok := mintJWT(t, ca, id, "aud")

	clock.Advance(2*time.Hour + time.Second) // past half of the signing CA and the JWT key
	second := mintX509(t, ca, id, 0)
	if second[1].Equal(first[1]) {
		t.Fatal("the signing CA did not rotate at half-life")
	}
	secondTok := mintJWT(t, ca, id, "aud")
	if header(t, secondTok)["kid"] == header(t, firstTok)["kid"] {
		t.Fatal("the JWT key did not rotate at half-life")
	}
	bundle := bundleOf(t, ca)
	for _, c := range [][]*x509.Certificate{first, second} {
		if _, _, err := x509svid.Verify(c, bundle, x509svid.WithTime(c[0].NotBefore.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if len(bundle.JWTAuthorities()) != 2 {
		t.Fatal("the old JWT key left the bundle before it expired")
	}

	// Past half the root's life: a new root joins the bundle; the old one stays until it expires.
	clock.Advance(22 * time.Hour)
	third := mintX509(t, ca, id, 0)
	bundle = bundleOf(t, ca)
	if n := len(bundle.X509Authorities()); n != 2 {
		t.Fatalf("%d roots, want 2", n)
	}
	if err := third[1].CheckSignatureFrom(bundle.X509Authorities()[1]); err != nil {
		t.Fatalf("new SVIDs are not issued under the new root: %v", err)
	}
	// An SVID from the old root still verifies (at a time it is valid).
	if _, _, err := x509svid.Verify(second, bundle, x509svid.WithTime(second[0].NotBefore.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := x509svid.Verify(third, bundle, x509svid.WithTime(clock.Now())); err != nil {
		t.Fatal(err)
	}
	firstRoot := bundle.X509Authorities()[0]
	if first[1].CheckSignatureFrom(firstRoot) != nil {
		t.Fatal("the first root is not the oldest in the bundle")
	}
	// The first root expires; by then the second is past half-life in turn, so the bundle holds
	// the second and a third: two roots in the steady state.
	clock.Advance(25 * time.Hour)
	bundle = bundleOf(t, ca)
	if bundle.HasX509Authority(firstRoot) {
		t.Fatal("an expired root is still in the bundle")
	}
	if n := len(bundle.X509Authorities()); n != 2 {
		t.Fatalf("%d roots, want 2", n)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "root-*.pem")); len(files) != 2 {
		t.Fatalf("root files %v", files)
	}
}

func TestBundleJSON(t *testing.T) {
	ca, _ := newCA(t, WithRefreshHint(time.Minute))
	data, err := ca.BundleJSON(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := spiffebundle.Parse(td, data)
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.Equal(bundleOf(t, ca)) {
		t.Fatal("the JSON bundle differs from Bundle")
	}
	if h, ok := parsed.RefreshHint(); !ok || h != time.Minute {
		t.Fatalf("refresh hint %v %v", h, ok)
	}
	var doc struct {
		Keys []struct{ Use, Kid string } `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	uses := map[string]int{}
	for _, k := range doc.Keys {
		uses[k.Use]++
	}
	if uses["x509-svid"] != 1 || uses["jwt-svid"] != 1 {
		t.Fatalf("keys %+v", doc.Keys)
	}
	// The caller owns what Bundle returns.
	b := bundleOf(t, ca)
	b.SetX509Authorities(nil)
	if len(bundleOf(t, ca).X509Authorities()) != 1 {
		t.Fatal("Bundle returned shared state")
	}
}

func TestConcurrentMinting(t *testing.T) {
	ca, _ := newCA(t)
	ctx := context.Background()
	const workers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	type minted struct {
		chain []*x509.Certificate
		tok   string
		id    spiffeid.ID
	}
	out := make(chan minted, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := agent(t, "agt_"+string(rune('a'+w)))
			csr := csrFor(t, id.String())
			for i := range each {
				if w == 0 && i == each/2 {
					if err := ca.Rotate(); err != nil {
						errs <- err
					}
				}
				chain, err := ca.MintX509SVID(ctx, csr, id, 0)
				if err != nil {
					errs <- err
					continue
				}
				tok, err := ca.MintJWTSVID(ctx, id, []string{"aud"}, 0)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := ca.Bundle(ctx); err != nil {
					errs <- err
				}
				out <- minted{chain, tok, id}
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(out)
	for err := range errs {
		t.Fatal(err)
	}
	bundle := bundleOf(t, ca)
	serials := map[string]bool{}
	n := 0
	for m := range out {
		n++
		got, _, err := x509svid.Verify(m.chain, bundle)
		if err != nil || got != m.id {
			t.Fatalf("X.509-SVID: %v %v", got, err)
		}
		s := m.chain[0].SerialNumber.String()
		if serials[s] {
			t.Fatal("serial reused")
		}
		serials[s] = true
		svid, err := jwtsvid.ParseAndValidate(m.tok, bundle, []string{"aud"})
		if err != nil || svid.ID != m.id {
			t.Fatalf("JWT-SVID: %v", err)
		}
	}
	if n != workers*each {
		t.Fatalf("%d minted", n)
	}
}

func BenchmarkMintX509SVID(b *testing.B) {
	ca, _ := newCA(b)
	id := agent(b, "agt_1")
	csr := csrFor(b, id.String())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.MintX509SVID(ctx, csr, id, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMintJWTSVID(b *testing.B) {
	ca, _ := newCA(b)
	id := agent(b, "agt_1")
	aud := []string{"spiffe://sovereign.test/registry/main"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.MintJWTSVID(ctx, id, aud, 0); err != nil {
			b.Fatal(err)
		}
	}
}
