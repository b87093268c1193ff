package federation_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
)

func TestParseNetworks(t *testing.T) {
	nets, err := federation.ParseNetworks(" private, loopback ,203.0.113.0/24,")
	if err != nil || len(nets) != 8 {
		t.Fatalf("ParseNetworks = %v, %v", nets, err)
	}
	for _, bad := range []string{"intranet", "10.0.0.0/33", "10.0.0.1"} {
		if _, err := federation.ParseNetworks(bad); err == nil {
			t.Errorf("ParseNetworks(%q) accepted", bad)
		}
	}
	if nets, err := federation.ParseNetworks(""); err != nil || len(nets) != 0 {
		t.Fatalf("empty: %v, %v", nets, err)
	}
}

func TestAddressPolicy_RefusesDeniedNetworks(t *testing.T) {
	nets, _ := federation.ParseNetworks("private,loopback,link-local")
	p := &federation.AddressPolicy{Denied: nets, Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "inside.example":
			return []netip.Addr{netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("10.1.2.3")}, nil
		case "outside.example":
			return []netip.Addr{netip.MustParseAddr("203.0.113.9")}, nil
		}
		return nil, errors.New("no such host")
	}}
	ctx := context.Background()
	for raw, code := range map[string]string{
		"https://outside.example:8443":                      "",
		"https://198.51.100.7":                              "",
		"https://inside.example:8443":                       federation.CodePeerAddressForbidden,
		"https://127.0.0.1:8443":                            federation.CodePeerAddressForbidden,
		"https://[::ffff:192.168.1.1]/":                     federation.CodePeerAddressForbidden,
		"http://169.254.169.254/latest/meta-data":           federation.CodePeerAddressForbidden,
		"https://[fd00::1]:8443":                            federation.CodePeerAddressForbidden,
		"https://nowhere.example/.well-known/spiffe-bundle": federation.CodeInvalidPeerURL,
	} {
		err := p.CheckURL(ctx, raw)
		var ae *apperr.Error
		if got := ""; (err == nil) != (code == "") || (err != nil && (!errors.As(err, &ae) || ae.Code != code)) {
			if ae != nil {
				got = ae.Code
			}
			t.Errorf("CheckURL(%q) = %v (%s), want %q", raw, err, got, code)
		}
	}
	if err := p.Control("tcp", "10.0.0.1:443", nil); !errors.Is(err, federation.ErrAddressForbidden) {
		t.Errorf("Control to a private address: %v", err)
	}
	if err := p.Control("tcp", "203.0.113.9:443", nil); err != nil {
		t.Errorf("Control to a public address: %v", err)
	}
	var none *federation.AddressPolicy
	if err := none.CheckURL(ctx, "https://127.0.0.1"); err != nil || !none.Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Fatal("no policy denied something")
	}
}

// FuzzParseNetworks: any text is a list of valid, masked prefixes or an error, never a panic;
// a prefix read back parses to itself.
func FuzzParseNetworks(f *testing.F) {
	for _, s := range []string{"private,loopback", "10.0.0.0/8, fd00::/8", "link-local,unspecified,", "::ffff:10.0.0.1/128", "x", ",,,", "300.1.1.1/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nets, err := federation.ParseNetworks(s)
		if err != nil {
			return
		}
		for _, n := range nets {
			if !n.IsValid() || n.Masked() != n {
				t.Fatalf("ParseNetworks(%q) gave %v", s, n)
			}
			back, err := federation.ParseNetworks(n.String())
			if err != nil || len(back) != 1 || back[0] != n {
				t.Fatalf("%v read back as %v, %v", n, back, err)
			}
		}
	})
}
