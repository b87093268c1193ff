package tegsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
)

// writer reads and writes inside one group's transaction.
type writer struct {
	l       *Ledger
	q       store.Querier
	dialect store.Dialect
}

func (w *writer) lockHead() (teg.Head, error) {
	q := `SELECT seq, hash FROM teg_head WHERE id = 1`
	if w.dialect == store.Postgres {
		q += ` FOR UPDATE`
	}
	var h teg.Head
	err := w.q.QueryRowContext(context.Background(), q).Scan(&h.Seq, &h.Hash)
	return h, err
}

// overlay is the state the engine reads during a group: what this group changed, over what the
// writer cached, over the database.
type overlay struct {
	w          *writer
	accounts   map[teg.AccountID]*teg.Account
	missing    map[teg.AccountID]bool
	transfers  map[string]*teg.Transfer
	noTransfer map[string]bool
	newAccts   map[teg.AccountID]bool
}

func newOverlay(w *writer) *overlay {
	return &overlay{w: w, accounts: map[teg.AccountID]*teg.Account{}, missing: map[teg.AccountID]bool{},
		transfers: map[string]*teg.Transfer{}, noTransfer: map[string]bool{}, newAccts: map[teg.AccountID]bool{}}
}

func (o *overlay) Account(ctx context.Context, id teg.AccountID) (teg.Account, error) {
	if a, ok := o.accounts[id]; ok {
		return *a, nil
	}
	if o.missing[id] {
		return teg.Account{}, teg.ErrAccountNotFound.With("account", string(id))
	}
	if a, ok := o.w.l.cache[id]; ok {
		o.accounts[id] = &a
		return a, nil
	}
	a, err := readAccount(ctx, o.w.q, id)
	if apperr.KindOf(err) == apperr.NotFound {
		o.missing[id] = true
		return teg.Account{}, err
	}
	if err != nil {
		return teg.Account{}, apperr.Internalf("read account: %w", err)
	}
	o.accounts[id] = &a
	return a, nil
}

func (o *overlay) Transfer(ctx context.Context, id string) (teg.Transfer, bool, error) {
	if t, ok := o.transfers[id]; ok {
		return *t, true, nil
	}
	if o.noTransfer[id] {
		return teg.Transfer{}, false, nil
	}
	t, err := scanTransfer(o.w.q.QueryRowContext(ctx, `SELECT `+transferCols+` FROM teg_transfers WHERE id = $1`, id))
	if err != nil {
		if isNoRows(err) {
			o.noTransfer[id] = true
			return teg.Transfer{}, false, nil
		}
		return teg.Transfer{}, false, err
	}
	o.transfers[id] = &t
	return t, true, nil
}

// prefetch reads, in a few queries, every account and transfer the group's commands name and
// the overlay does not know yet, so the engine does not query row by row.
func (o *overlay) prefetch(reqs []*request) error {
	ctx := context.Background()
	var accts, xfers []string
	seenA, seenT := map[string]bool{}, map[string]bool{}
	addA := func(id teg.AccountID) {
		s := string(id)
		if s == "" || seenA[s] {
			return
		}
		seenA[s] = true
		if _, ok := o.w.l.cache[id]; !ok {
			accts = append(accts, s)
		}
	}
	addT := func(id string) {
		if id != "" && !seenT[id] {
			seenT[id] = true
			xfers = append(xfers, id)
		}
	}
	for _, r := range reqs {
		for _, c := range r.cmds {
			addA(c.From)
			addA(c.To)
			addT(c.ID)
			addT(c.PendingID)
		}
	}
	for _, id := range teg.SystemAccounts {
		addA(id)
	}
	for _, chunk := range chunks(accts, o.w.chunk()) {
		rows, err := o.w.in(ctx, `SELECT `+accountCols+` FROM teg_accounts WHERE id`, chunk)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				rows.Close()
				return err
			}
			o.accounts[a.ID] = &a
			found[string(a.ID)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range chunk {
			if !found[id] {
				o.missing[teg.AccountID(id)] = true
			}
		}
	}
	for _, chunk := range chunks(xfers, o.w.chunk()) {
		rows, err := o.w.in(ctx, `SELECT `+transferCols+` FROM teg_transfers WHERE id`, chunk)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for rows.Next() {
			t, err := scanTransfer(rows)
			if err != nil {
				rows.Close()
				return err
			}
			o.transfers[t.ID] = &t
			found[t.ID] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range chunk {
			if !found[id] {
				o.noTransfer[id] = true
			}
		}
	}
	return nil
}

// commit makes one request's changes visible to the next request of the group.
func (o *overlay) commit(ch *teg.Changes) {
	for i := range ch.Accounts {
		a := ch.Accounts[i]
		if o.missing[a.ID] {
			delete(o.missing, a.ID)
			o.newAccts[a.ID] = true
		}
		o.accounts[a.ID] = &a
	}
	for i := range ch.Transfers {
		t := ch.Transfers[i]
		delete(o.noTransfer, t.ID)
		o.transfers[t.ID] = &t
	}
}

// write stores the group's changes: accounts and transfers (last version of each), events, and
// the new head, checked against the head the group started from.
func (w *writer) write(o *overlay, all *teg.Changes, from teg.Head) error {
	ctx := context.Background()
	// Accounts: the final state of each touched account, once.
	var acctRows [][]any
	seen := map[teg.AccountID]bool{}
	for i := len(all.Accounts) - 1; i >= 0; i-- {
		a := o.accounts[all.Accounts[i].ID]
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		acctRows = append(acctRows, []any{string(a.ID), a.Liquid, a.Locked, a.Staked, a.Unbonding, int64(a.Version), store.Time(a.CreatedAt)})
	}
	if err := w.insert(ctx, "teg_accounts", "id, liquid, locked, staked, unbonding, version, created_at", 7, acctRows,
		` ON CONFLICT (id) DO UPDATE SET liquid = excluded.liquid, locked = excluded.locked, staked = excluded.staked, unbonding = excluded.unbonding, version = excluded.version`); err != nil {
		return fmt.Errorf("write accounts: %w", err)
	}
	var xferRows [][]any
	seenT := map[string]bool{}
	for i := len(all.Transfers) - 1; i >= 0; i-- {
		t := o.transfers[all.Transfers[i].ID]
		if seenT[t.ID] {
			continue
		}
		seenT[t.ID] = true
		xferRows = append(xferRows, []any{t.ID, int64(t.Seq), string(t.Kind), string(t.From), string(t.To), t.Amount, t.Fee, t.Message,
			t.PendingID, t.Held, string(t.State), store.NullTime(t.ExpiresAt), t.Fingerprint, store.Time(t.CreatedAt)})
	}
	if err := w.insert(ctx, "teg_transfers", transferCols, 14, xferRows, ` ON CONFLICT (id) DO UPDATE SET state = excluded.state`); err != nil {
		return fmt.Errorf("write transfers: %w", err)
	}
	evRows := make([][]any, 0, len(all.Events))
	for _, e := range all.Events {
		body, err := json.Marshal(eventBody{Postings: e.Postings, Data: e.Data})
		if err != nil {
			return err
		}
		evRows = append(evRows, []any{int64(e.Seq), store.Time(e.Time), string(e.Kind), e.TransferID, string(body), e.PrevHash, e.Hash})
	}
	if err := w.insert(ctx, "teg_events", "seq, time, kind, transfer_id, body, prev_hash, hash", 7, evRows, ""); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	res, err := w.q.ExecContext(ctx, `UPDATE teg_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3`, int64(all.Head.Seq), all.Head.Hash, int64(from.Seq))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("event log head moved during the write (expected seq %d)", from.Seq)
	}
	return nil
}

// rowsPerInsert is how many rows one multi-row INSERT carries (fixed, so statements are reused).
const rowsPerInsert = 256

func (w *writer) insert(ctx context.Context, table, cols string, ncols int, rows [][]any, suffix string) error {
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		args := make([]any, 0, n*ncols)
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			if w.dialect == store.SQLite {
				// Anonymous parameters: SQLite looks named ones ($N) up by name, one linear
				// search per parameter, which dominates statements with thousands of them.
				sb.WriteString(strings.Repeat("?,", ncols-1) + "?")
			} else {
				sb.WriteString(placeholders(i*ncols+1, ncols))
			}
			sb.WriteByte(')')
			args = append(args, rows[i]...)
		}
		sb.WriteString(suffix)
		if _, err := w.q.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// chunk is how many ids one lookup asks for. PostgreSQL plans a short list as index probes but
// may scan the whole table for a long one (measured: 100 ids take 0.3 ms; 500 ids chose a
// sequential scan that took seconds on a large, recently grown table).
func (w *writer) chunk() int {
	if w.dialect == store.Postgres {
		return 100
	}
	return 500
}

// in runs query (ending in "WHERE col") for the rows whose col is one of ids: one array
// parameter on PostgreSQL (a single plan that uses the index whatever the table's statistics
// say), a list of anonymous parameters on SQLite (see insert).
func (w *writer) in(ctx context.Context, query string, ids []string) (*sql.Rows, error) {
	if w.dialect == store.Postgres {
		return w.q.QueryContext(ctx, query+` IN (SELECT unnest($1::text[]))`, ids)
	}
	return w.q.QueryContext(ctx, query+` IN (`+strings.Repeat("?,", len(ids)-1)+`?)`, anys(ids)...)
}

func placeholders(start, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('$')
		sb.WriteString(strconv.Itoa(start + i))
	}
	return sb.String()
}

func chunks(s []string, n int) [][]string {
	var out [][]string
	for len(s) > 0 {
		k := min(n, len(s))
		out = append(out, s[:k])
		s = s[k:]
	}
	return out
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
