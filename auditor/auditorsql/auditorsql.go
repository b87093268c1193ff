// Package auditorsql stores the auditor — its flags, its consumer's lease, cursor and
// checkpoint, and the admin's parameters — in the auditor_* tables, on SQLite and PostgreSQL
// alike.
package auditorsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/store"
)

// Store implements auditor.Store.
type Store struct{ db *store.DB }

var _ auditor.Store = (*Store)(nil)

// New returns the store over db.
func New(db *store.DB) *Store { return &Store{db: db} }

// ClaimLease takes or renews the lease: one conditional UPDATE, so of replicas claiming at
// once one wins.
func (s *Store) ClaimLease(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE auditor_consumer SET holder = $1, expires_us = $2 WHERE id = 1 AND (holder = $1 OR expires_us < $3)`,
		holder, now.Add(ttl).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, apperr.Internalf("claim the auditor lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, apperr.Internalf("claim the auditor lease: %w", err)
	}
	return n == 1, nil
}

// Checkpoint reads the consumer's row.
func (s *Store) Checkpoint(ctx context.Context) (auditor.Checkpoint, error) {
	var cp auditor.Checkpoint
	var cursor, at, snapSeq int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT holder, cursor_seq, cursor_us, snapshot, snapshot_seq FROM auditor_consumer WHERE id = 1`).
		Scan(&cp.Holder, &cursor, &at, &cp.Snapshot, &snapSeq)
	if err != nil {
		return auditor.Checkpoint{}, apperr.Internalf("read the auditor's checkpoint: %w", err)
	}
	cp.Cursor, cp.SnapshotSeq = uint64(cursor), uint64(snapSeq)
	if at != 0 {
		cp.CursorTime = time.UnixMicro(at).UTC()
	}
	return cp, nil
}

const flagCols = `id, rule, severity, subject, agents, evidence, detail, dedupe_key, status, resolution, escalation, dispute_id, note, reviewed_by, created_at, updated_at`

// Commit stores the new flags (skipping known patterns) and the cursor (and snapshot) in one
// transaction, fenced by the lease.
func (s *Store) Commit(ctx context.Context, holder string, cursor uint64, cursorTime time.Time, flags []auditor.Flag, snapshot []byte) (int, error) {
	inserted := 0
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		inserted = 0
		q := s.db.TxQuerier(tx)
		var res sql.Result
		var err error
		if snapshot != nil {
			res, err = q.ExecContext(ctx, `UPDATE auditor_consumer SET cursor_seq = $1, cursor_us = $2, snapshot = $3, snapshot_seq = $1 WHERE id = 1 AND holder = $4`,
				int64(cursor), cursorTime.UnixMicro(), snapshot, holder)
		} else {
			res, err = q.ExecContext(ctx, `UPDATE auditor_consumer SET cursor_seq = $1, cursor_us = $2 WHERE id = 1 AND holder = $3`,
				int64(cursor), cursorTime.UnixMicro(), holder)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return auditor.ErrLeaseLost
		}
		for _, f := range flags {
			agents, _ := json.Marshal(f.Agents)
			evidence, _ := json.Marshal(f.Evidence)
			res, err := q.ExecContext(ctx, `INSERT INTO auditor_flags (`+flagCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (dedupe_key) DO NOTHING`,
				f.ID, string(f.Rule), string(f.Severity), f.Subject, string(agents), string(evidence), f.Detail, f.DedupeKey, string(f.Status),
				f.Resolution, f.Escalation, f.DisputeID, f.Note, f.ReviewedBy, store.Time(f.CreatedAt), store.Time(f.UpdatedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else {
				inserted += int(n)
			}
		}
		return nil
	})
	if errors.Is(err, auditor.ErrLeaseLost) {
		return 0, auditor.ErrLeaseLost
	}
	if err != nil {
		return 0, apperr.Internalf("store the auditor's flags: %w", err)
	}
	return inserted, nil
}

func scanFlag(sc interface{ Scan(...any) error }) (auditor.Flag, error) {
	var f auditor.Flag
	var rule, sev, status, agents, evidence string
	err := sc.Scan(&f.ID, &rule, &sev, &f.Subject, &agents, &evidence, &f.Detail, &f.DedupeKey, &status, &f.Resolution, &f.Escalation,
		&f.DisputeID, &f.Note, &f.ReviewedBy, store.ScanTime(&f.CreatedAt), store.ScanTime(&f.UpdatedAt))
	if err != nil {
		return f, err
	}
	f.Rule, f.Severity, f.Status = auditor.Rule(rule), auditor.Severity(sev), auditor.Status(status)
	if err := json.Unmarshal([]byte(agents), &f.Agents); err != nil {
		return f, err
	}
	if err := json.Unmarshal([]byte(evidence), &f.Evidence); err != nil {
		return f, err
	}
	return f, nil
}

// Flags lists flags newest first (by id, which sorts by creation).
func (s *Store) Flags(ctx context.Context, fq auditor.FlagQuery) ([]auditor.Flag, error) {
	q := `SELECT ` + flagCols + ` FROM auditor_flags WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += ` AND ` + cond + ` $` + strconv.Itoa(len(args))
	}
	if fq.Status != "" {
		add("status =", string(fq.Status))
	}
	if fq.Rule != "" {
		add("rule =", string(fq.Rule))
	}
	if fq.Subject != "" {
		add("subject =", fq.Subject)
	}
	if fq.Before != "" {
		add("id <", fq.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + strconv.Itoa(max(fq.Limit, 1))
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, apperr.Internalf("list flags: %w", err)
	}
	defer rows.Close()
	out := []auditor.Flag{}
	for rows.Next() {
		f, err := scanFlag(rows)
		if err != nil {
			return nil, apperr.Internalf("scan flag: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("list flags: %w", err)
	}
	return out, nil
}

// Flag reads one flag.
func (s *Store) Flag(ctx context.Context, id string) (auditor.Flag, error) {
	f, err := scanFlag(s.db.Read().QueryRowContext(ctx, `SELECT `+flagCols+` FROM auditor_flags WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return auditor.Flag{}, auditor.ErrFlagNotFound.With("flag_id", id)
	}
	if err != nil {
		return auditor.Flag{}, apperr.Internalf("read flag: %w", err)
	}
	return f, nil
}

// UpdateFlag writes f's review fields while its status is still from.
func (s *Store) UpdateFlag(ctx context.Context, f auditor.Flag, from auditor.Status) error {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE auditor_flags SET status = $1, resolution = $2, escalation = $3, dispute_id = $4, note = $5,
		reviewed_by = $6, updated_at = $7 WHERE id = $8 AND status = $9`,
		string(f.Status), f.Resolution, f.Escalation, f.DisputeID, f.Note, f.ReviewedBy, store.Time(f.UpdatedAt), f.ID, string(from))
	if err != nil {
		return apperr.Internalf("update flag: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return apperr.Internalf("update flag: %w", err)
	} else if n != 1 {
		return auditor.ErrFlagChanged.With("flag_id", f.ID)
	}
	return nil
}

// ConfirmedFlags reads the confirmed flags (resolved confirmed, or escalated): for each
// implicated agent, when each was confirmed.
func (s *Store) ConfirmedFlags(ctx context.Context) (map[string][]time.Time, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT agents, updated_at FROM auditor_flags
		WHERE (status = 'RESOLVED' AND resolution = 'confirmed') OR status = 'ESCALATED'`)
	if err != nil {
		return nil, apperr.Internalf("read confirmed flags: %w", err)
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var agents string
		var at time.Time
		if err := rows.Scan(&agents, store.ScanTime(&at)); err != nil {
			return nil, apperr.Internalf("read confirmed flags: %w", err)
		}
		var list []string
		if err := json.Unmarshal([]byte(agents), &list); err != nil {
			return nil, apperr.Internalf("read confirmed flags: %w", err)
		}
		for _, a := range list {
			out[a] = append(out[a], at)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("read confirmed flags: %w", err)
	}
	return out, nil
}

// Params reads the stored parameters.
func (s *Store) Params(ctx context.Context) (auditor.Params, bool, error) {
	var text string
	err := s.db.Read().QueryRowContext(ctx, `SELECT params FROM auditor_params WHERE id = 1`).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return auditor.Params{}, false, nil
	}
	if err != nil {
		return auditor.Params{}, false, apperr.Internalf("read the auditor's parameters: %w", err)
	}
	p := auditor.DefaultParams()
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return auditor.Params{}, false, apperr.Internalf("stored auditor parameters: %w", err)
	}
	return p, true, nil
}

// SetParams stores the parameters.
func (s *Store) SetParams(ctx context.Context, p auditor.Params) error {
	b, err := json.Marshal(p)
	if err != nil {
		return apperr.Internalf("encode the auditor's parameters: %w", err)
	}
	if _, err := s.db.Write().ExecContext(ctx, `INSERT INTO auditor_params (id, params, updated_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET params = excluded.params, updated_at = excluded.updated_at`, string(b), store.Time(time.Now())); err != nil {
		return apperr.Internalf("store the auditor's parameters: %w", err)
	}
	return nil
}
