package fedsql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedsql"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func peer(td string, at time.Time) federation.Peer {
	return federation.Peer{ID: ids.NewAt("fpr", at), Name: "peer " + td, BaseURL: "https://" + td + ":8443", TrustDomain: td,
		BundleEndpoint: "https://" + td + "/.well-known/spiffe-bundle", State: federation.StatePending, ProposedBy: "dev_1", Version: 1,
		CreatedAt: at, UpdatedAt: at}
}

func TestStore_PeersRoundTripAndTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := fedsql.New(db)
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		p := peer("b.example", at)
		if err := s.InsertPeer(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertPeer(ctx, peer("b.example", at.Add(time.Second))); apperr.CodeOf(err) != "PEER_EXISTS" {
			t.Fatalf("second proposal of a trust domain: %v, want PEER_EXISTS", err)
		}
		got, err := s.GetPeer(ctx, p.ID)
		if err != nil || got != p {
			t.Fatalf("GetPeer = %+v, %v; want %+v", got, err, p)
		}
		if _, err := s.GetPeer(ctx, "fpr_missing"); apperr.CodeOf(err) != "PEER_NOT_FOUND" {
			t.Fatalf("missing peer: %v", err)
		}
		later := at.Add(time.Hour)
		up, err := s.SetState(ctx, p.ID, federation.StatePending, federation.StateActive, "adm_1", "ok", later)
		if err != nil || up.State != federation.StateActive || up.Version != 2 || up.DecidedBy != "adm_1" || up.Reason != "ok" || !up.UpdatedAt.Equal(later) {
			t.Fatalf("SetState = %+v, %v", up, err)
		}
		if _, err := s.SetState(ctx, p.ID, federation.StatePending, federation.StateRejected, "adm_1", "", later); apperr.CodeOf(err) != "PEER_STATE_CHANGED" {
			t.Fatalf("stale SetState: %v, want PEER_STATE_CHANGED", err)
		}
		if _, err := s.SetState(ctx, "fpr_missing", federation.StatePending, federation.StateActive, "adm_1", "", later); apperr.CodeOf(err) != "PEER_NOT_FOUND" {
			t.Fatalf("SetState of a missing peer: %v", err)
		}
		// A rejected peer frees its trust domain for a new proposal.
		q := peer("c.example", at.Add(time.Minute))
		if err := s.InsertPeer(ctx, q); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetState(ctx, q.ID, federation.StatePending, federation.StateRejected, "adm_1", "no", later); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertPeer(ctx, peer("c.example", at.Add(2*time.Minute))); err != nil {
			t.Fatalf("proposal after a rejection: %v", err)
		}
		all, err := s.ListPeers(ctx)
		if err != nil || len(all) != 3 || all[0].ID != p.ID || all[1].ID != q.ID {
			t.Fatalf("ListPeers = %+v, %v", all, err)
		}
	})
}

// TestStore_TransitionsFollowTheStateMachine applies random admin actions through the domain's
// Transition and the store's compare-and-set, against a model: the stored state is always the
// model's, the version counts the transitions made, and illegal moves change nothing.
func TestStore_TransitionsFollowTheStateMachine(t *testing.T) {
	db := storetest.SQLite(t)
	s := fedsql.New(db)
	ctx := context.Background()
	actions := []federation.Action{federation.ActionApprove, federation.ActionReject, federation.ActionDeactivate, federation.ActionReactivate}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		p := peer(fmt.Sprintf("t%d.example", n), time.Now().UTC().Truncate(time.Millisecond))
		if err := s.InsertPeer(ctx, p); err != nil {
			rt.Fatal(err)
		}
		model, version := federation.StatePending, 1
		for _, a := range rapid.SliceOfN(rapid.SampledFrom(actions), 1, 12).Draw(rt, "actions") {
			to, err := federation.Transition(model, a)
			legal := map[federation.Action]federation.State{federation.ActionApprove: federation.StatePending, federation.ActionReject: federation.StatePending,
				federation.ActionDeactivate: federation.StateActive, federation.ActionReactivate: federation.StateInactive}[a] == model
			if legal != (err == nil) {
				rt.Fatalf("%s from %s: err %v, legal %v", a, model, err, legal)
			}
			if err != nil {
				if apperr.CodeOf(err) != "INVALID_PEER_TRANSITION" {
					rt.Fatalf("illegal move code %v", err)
				}
				continue
			}
			if _, err := s.SetState(ctx, p.ID, model, to, "adm", "", time.Now()); err != nil {
				rt.Fatal(err)
			}
			model, version = to, version+1
		}
		got, err := s.GetPeer(ctx, p.ID)
		if err != nil || got.State != model || got.Version != version {
			rt.Fatalf("stored %s v%d, model %s v%d (%v)", got.State, got.Version, model, version, err)
		}
	})
}

func TestStore_SyncCursorsAreKeptPerPeer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := fedsql.New(db)
		if c, err := s.SyncCursor(ctx, "b.example"); err != nil || c != "" {
			t.Fatalf("no cursor yet = %q, %v", c, err)
		}
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		for _, c := range []string{federation.EncodeCursor(7), federation.EncodeCursor(9)} {
			if err := s.SetSyncCursor(ctx, "b.example", c, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetSyncCursor(ctx, "c.example", federation.EncodeCursor(1), at); err != nil {
			t.Fatal(err)
		}
		if c, err := s.SyncCursor(ctx, "b.example"); err != nil || c != federation.EncodeCursor(9) {
			t.Fatalf("b cursor = %q, %v", c, err)
		}
		if c, err := s.SyncCursor(ctx, "c.example"); err != nil || c != federation.EncodeCursor(1) {
			t.Fatalf("c cursor = %q, %v", c, err)
		}
	})
}
