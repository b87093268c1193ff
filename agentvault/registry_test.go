package agentvault_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/agentvault"
)

// TestRegistry_DiscoverMeRotateAndSVID covers the registry client beyond the end-to-end run.
func TestRegistry_DiscoverMeRotateAndSVID(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	r := st.register(t, testCard("Discoverable Zebra", "https://zebra.example", nil), keys)
	id := r.Reg.Identity.ID
	anon := agentvault.NewRegistry(st.URL, nil)

	page, err := anon.Discover(ctx, "zebra", agentvault.Filters{Tag: []string{"echo"}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != id || page.Items[0].Card.GetName() != "Discoverable Zebra" ||
		page.Items[0].AgentDID != r.Reg.Identity.DID {
		t.Fatalf("discover = %+v", page.Items)
	}
	if p, err := anon.Discover(ctx, "zebra", agentvault.Filters{Tag: []string{"nope"}}); err != nil || len(p.Items) != 0 {
		t.Fatalf("filtered discover = %v, %v", p, err)
	}
	card, err := anon.GetCard(ctx, id)
	if err != nil || card.Card.GetSupportedInterfaces()[0].GetUrl() != "https://zebra.example/a2a" {
		t.Fatalf("get card = %+v, %v", card, err)
	}
	var apiErr *agentvault.APIError
	if _, err := anon.GetCard(ctx, "agt_nope"); !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.RequestID == "" {
		t.Fatalf("unknown card = %v", err)
	}
	if _, err := anon.Me(ctx); err == nil {
		t.Fatal("Me without a credential")
	}

	// The agent's credential: me, heartbeat, secret rotation.
	ts, err := agentvault.TokenSourceFromKeyStore(ctx, st.URL, keys, id)
	if err != nil {
		t.Fatal(err)
	}
	reg := anon.WithCredential(ts)
	hb, err := reg.Heartbeat(ctx)
	if err != nil || hb.LastHeartbeatAt == nil {
		t.Fatalf("heartbeat = %+v, %v", hb, err)
	}
	secret, err := reg.RotateSecret(ctx)
	if err != nil || secret == r.Reg.ClientSecret {
		t.Fatalf("rotate = %q, %v", secret, err)
	}
	ts.SetSecret(secret)
	if _, err := reg.Me(ctx); err != nil {
		t.Fatalf("me after rotation: %v", err)
	}
	if _, err := agentvault.NewTokenSource(st.URL, r.Reg.ClientID, r.Reg.ClientSecret).Token(ctx); !agentvault.IsCode(err, "INVALID_CLIENT") {
		t.Fatalf("the old secret = %v", err)
	}

	// SVID renewal through the registry's route, authenticated by the agent's token.
	sid := spiffeid.RequireFromString(r.Reg.Identity.SPIFFEID)
	ren := agentvault.NewSVIDRenewer(st.URL, sid, ts, r.Reg.SVID)
	if !ren.RenewAt().After(time.Now()) {
		t.Fatal("the registration SVID is already due")
	}
	svid, err := ren.Renew(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if svid.ID != sid || svid.Certificates[0].SerialNumber.Cmp(r.Reg.SVID.Certificates[0].SerialNumber) == 0 {
		t.Fatalf("renewed SVID %v", svid.ID)
	}

	// A developer without verification cannot register; a bad credential neither.
	if _, err := agentvault.NewRegistry(st.URL, agentvault.BearerToken("avreg_nope")).Register(ctx, testCard("X", "https://x.example", nil), agentvault.RegisterOptions{}); err == nil {
		t.Fatal("registered with a bad developer key")
	}
}
