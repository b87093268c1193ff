package tegsql_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// memReader is the state of a ledger kept in memory, for building a version 1 log.
type memReader struct {
	accounts  map[teg.AccountID]teg.Account
	transfers map[string]teg.Transfer
}

func (m *memReader) Account(_ context.Context, id teg.AccountID) (teg.Account, error) {
	if a, ok := m.accounts[id]; ok {
		return a, nil
	}
	return teg.Account{}, teg.ErrAccountNotFound.With("account", string(id))
}

func (m *memReader) Transfer(_ context.Context, id string) (teg.Transfer, bool, error) {
	t, ok := m.transfers[id]
	return t, ok, nil
}

// TestLedger_UpgradesAVersion1Log builds a database as the previous release left it (schema
// version 6, the log in teg_events with JSON bodies and teg_transfers), migrates it, and opens
// the ledger: the log is rewritten, verifies, and transfers, pending states and histories read
// back; the old tables are gone and the ledger takes writes.
func TestLedger_UpgradesAVersion1Log(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	// A version 1 log made by the engine: mint, open, grant, transfers, a pending transfer
	// posted and one still active.
	m := &memReader{accounts: map[teg.AccountID]teg.Account{}, transfers: map[string]teg.Transfer{}}
	eng := &teg.Ledger{Params: teg.DefaultParams(), Now: func() time.Time { return time.Now() }}
	head := teg.Head{Hash: teg.GenesisHash}
	var events []teg.Event
	apply := func(cmds ...teg.Command) {
		ch, res, err := eng.Apply(ctx, m, head, cmds, true)
		if err != nil {
			t.Fatalf("%v: %v", cmds, err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		for _, a := range ch.Accounts {
			m.accounts[a.ID] = a
		}
		for _, tr := range ch.Transfers {
			m.transfers[tr.ID] = tr
		}
		events = append(events, ch.Events...)
		head = ch.Head
	}
	apply(teg.Command{Kind: teg.KindMint, ID: "m1", Amount: avt.AVT(1000)})
	apply(teg.Command{Kind: teg.KindOpen, ID: "o-a", To: "agt_a"}, teg.Command{Kind: teg.KindOpen, ID: "o-b", To: "agt_b"})
	apply(teg.Command{Kind: teg.KindGrant, ID: "g-a", To: "agt_a", Amount: avt.AVT(100)})
	apply(teg.Command{Kind: teg.KindTransfer, ID: "t1", From: "agt_a", To: "agt_b", Amount: avt.AVT(10)})
	apply(teg.Command{Kind: teg.KindPending, ID: "p1", From: "agt_a", To: "agt_b", Amount: avt.AVT(5)})
	apply(teg.Command{Kind: teg.KindPost, ID: "p1-post", PendingID: "p1"})
	apply(teg.Command{Kind: teg.KindPending, ID: "p2", From: "agt_b", To: "agt_a", Amount: avt.AVT(1)})
	apply(teg.Command{Kind: teg.KindTransfer, ID: "t2", From: "agt_b", To: "agt_a", Amount: avt.AVT(2)})

	w := db.Writer()
	for _, a := range m.accounts {
		if _, err := w.ExecContext(ctx, `INSERT INTO teg_accounts (id, liquid, locked, staked, unbonding, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			string(a.ID), a.Liquid, a.Locked, a.Staked, a.Unbonding, int64(a.Version), store.Time(a.CreatedAt)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tr := range m.transfers {
		if _, err := w.ExecContext(ctx, `INSERT INTO teg_transfers (id, seq, kind, from_account, to_account, amount, fee, message, pending_id, held, state, expires_at, fingerprint, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			tr.ID, int64(tr.Seq), string(tr.Kind), string(tr.From), string(tr.To), tr.Amount, tr.Fee, tr.Message, tr.PendingID, tr.Held,
			string(tr.State), store.NullTime(tr.ExpiresAt), tr.Fingerprint, store.Time(tr.CreatedAt)); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range events {
		body, _ := json.Marshal(map[string]any{"postings": e.Postings, "data": e.Data})
		if _, err := w.ExecContext(ctx, `INSERT INTO teg_events (seq, time, kind, transfer_id, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			int64(e.Seq), store.Time(e.Time), string(e.Kind), e.TransferID, string(body), e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.ExecContext(ctx, `UPDATE teg_head SET seq = $1, hash = $2 WHERE id = 1`, int64(head.Seq), head.Hash); err != nil {
		t.Fatal(err)
	}

	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := tegsql.Open(db, teg.DefaultParams(), nil)
	defer l.Close()
	rep := verify(t, l)
	if rep.Events != head.Seq || rep.Head != head {
		t.Fatalf("verify after the upgrade: %+v, want head %+v", rep, head)
	}
	for id, want := range m.transfers {
		got, ok, err := l.Transfer(ctx, id)
		if err != nil || !ok || got.Seq != want.Seq || got.State != want.State || got.Amount != want.Amount || got.Fingerprint != want.Fingerprint {
			t.Fatalf("transfer %s after the upgrade: %+v (%v %v), want %+v", id, got, ok, err, want)
		}
	}
	hist, err := l.History(ctx, "agt_a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range hist {
		ids = append(ids, tr.ID)
	}
	// agt_a: t2 (to), p2 (to), p1-post (from), p1 (from), t1 (from), g-a (to), o-a (to).
	if want := []string{"t2", "p2", "p1-post", "p1", "t1", "g-a", "o-a"}; !slices.Equal(ids, want) {
		t.Fatalf("history of agt_a after the upgrade: %v, want %v", ids, want)
	}
	var n int
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name IN ('teg_events_v1', 'teg_transfers_v1')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("version 1 tables left: %d %v", n, err)
	}
	// The active pending transfer can still be voided, and new transfers follow the old log.
	must(t, l, teg.Command{Kind: teg.KindVoid, ID: "p2-void", PendingID: "p2"})
	must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "t3", From: "agt_a", To: "agt_b", Amount: avt.AVT(1)})
	verify(t, l)
	// Opening again finds nothing to upgrade.
	l2 := tegsql.Open(db, teg.DefaultParams(), nil)
	defer l2.Close()
	verify(t, l2)
}
