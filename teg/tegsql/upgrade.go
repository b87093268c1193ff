package tegsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
)

// upgrade rewrites a log kept in the version 1 tables (teg_events_v1 with JSON bodies and
// teg_transfers_v1, renamed so by migration 00007) into the version 2 tables, keeping every seq
// and hash, and drops the old tables, in one transaction. A ledger without them has nothing to do.
func (l *Ledger) upgrade(ctx context.Context) error {
	var exists bool
	q := `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'teg_events_v1'`
	if l.db.Dialect() == store.Postgres {
		q = `SELECT to_regclass('teg_events_v1') IS NOT NULL`
	}
	if err := l.db.Read().QueryRowContext(ctx, q).Scan(&exists); err != nil || !exists {
		return err
	}
	return l.db.InTx(ctx, func(tx *sql.Tx) error {
		w := &writer{l: l, q: l.db.TxQuerier(tx), dialect: l.db.Dialect()}
		head, err := w.lockHead()
		if err != nil {
			return err
		}
		const page = 5000
		newest := map[teg.AccountID]uint64{} // each account's newest entry so far
		for after := int64(0); ; {
			ch, ov, last, err := readV1(ctx, w, after, page)
			if err != nil {
				return fmt.Errorf("read version 1 log after %d: %w", after, err)
			}
			if len(ch.Events) == 0 {
				break
			}
			ov.last = newest
			var en encoder
			if err := en.log(ov, ch); err == nil {
				err = en.pending(ov, ch)
			}
			if err != nil {
				return fmt.Errorf("rewrite version 1 log after %d: %w", after, err)
			}
			if err := w.writeLog(ctx, &en.rows); err != nil {
				return fmt.Errorf("rewrite version 1 log after %d: %w", after, err)
			}
			after = last
		}
		if head.Seq != 0 {
			var stored []byte
			if err := w.q.QueryRowContext(ctx, `SELECT hash FROM teg_events WHERE seq = $1`, int64(head.Seq)).Scan(&stored); err != nil {
				return fmt.Errorf("the version 1 log does not reach its head %d: %w", head.Seq, err)
			}
		}
		for id, seq := range newest {
			if _, err := w.q.ExecContext(ctx, `UPDATE teg_accounts SET log_seq = $1 WHERE id = $2`, int64(seq), string(id)); err != nil {
				return err
			}
		}
		for _, t := range []string{"teg_events_v1", "teg_transfers_v1"} {
			if _, err := w.q.ExecContext(ctx, `DROP TABLE `+t); err != nil {
				return err
			}
		}
		return nil
	})
}

// readV1 reads up to n version 1 events after seq after, with their transfers.
func readV1(ctx context.Context, w *writer, after int64, n int) (*teg.Changes, *overlay, int64, error) {
	rows, err := w.q.QueryContext(ctx, `SELECT e.seq, e.time, e.kind, e.transfer_id, e.body, e.hash,
		t.id, t.seq, t.kind, t.from_account, t.to_account, t.amount, t.fee, t.message, t.pending_id, t.held, t.state, t.expires_at, t.fingerprint, t.created_at
		FROM teg_events_v1 e JOIN teg_transfers_v1 t ON t.id = e.transfer_id WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`, after, n)
	if err != nil {
		return nil, nil, 0, err
	}
	defer rows.Close()
	ch := &teg.Changes{}
	ov := newOverlay(w, nil)
	last := after
	for rows.Next() {
		var (
			e                   teg.Event
			t                   teg.Transfer
			ekind, body         string
			tkind, from, to, st string
		)
		if err := rows.Scan(&e.Seq, store.ScanTime(&e.Time), &ekind, &e.TransferID, &body, &e.Hash,
			&t.ID, &t.Seq, &tkind, &from, &to, &t.Amount, &t.Fee, &t.Message, &t.PendingID, &t.Held, &st,
			store.ScanNullTime(&t.ExpiresAt), &t.Fingerprint, store.ScanTime(&t.CreatedAt)); err != nil {
			return nil, nil, 0, err
		}
		var b struct {
			Postings []teg.Posting     `json:"postings"`
			Data     map[string]string `json:"data,omitempty"`
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			return nil, nil, 0, fmt.Errorf("event %d: body: %w", e.Seq, err)
		}
		e.Kind, e.Postings, e.Data = teg.Kind(ekind), b.Postings, b.Data
		t.Kind, t.From, t.To, t.State = teg.Kind(tkind), teg.AccountID(from), teg.AccountID(to), teg.PendingState(st)
		if t.Seq != e.Seq {
			return nil, nil, 0, fmt.Errorf("event %d names transfer %s of seq %d", e.Seq, t.ID, t.Seq)
		}
		ch.Events = append(ch.Events, e)
		ch.Transfers = append(ch.Transfers, t)
		ov.transfers[t.ID] = &t
		last = int64(e.Seq)
	}
	return ch, ov, last, rows.Err()
}
