// Package attestsql stores attestations in the attestations table (with the per-subject
// attestation_quota row that serializes the limit checks), on SQLite and PostgreSQL alike. It
// also counts them for the reputation score.
package attestsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/store"
)

// Store implements attestation.Store and reputation.AttestationCounter.
type Store struct{ db *store.DB }

var (
	_ attestation.Store             = (*Store)(nil)
	_ reputation.AttestationCounter = (*Store)(nil)
)

// New returns the store over db.
func New(db *store.DB) *Store { return &Store{db: db} }

const cols = `id, type, subject, attester, evidence_hash, evidence_uri, issued_at, transfer_id, signature, cosignature, reward, reward_key, reward_paid, reward_transfer, created_at`

// errRefused carries a limit's refusal out of the transaction (which it rolls back).
type errRefused struct{ err error }

func (e errRefused) Error() string { return e.err.Error() }

// Insert stores a (unpaid) when the limits allow, in one transaction that first takes the
// subject's quota row: the checks (replay, transfer, cooldown, daily limit) and the insert of
// one subject's attestations run one at a time, in every replica.
func (s *Store) Insert(ctx context.Context, a attestation.Attestation, lim attestation.Limits) error {
	sig, err := json.Marshal(a.Signature)
	if err != nil {
		return apperr.Internalf("encode signature: %w", err)
	}
	co := ""
	if a.Cosignature != nil {
		b, err := json.Marshal(a.Cosignature)
		if err != nil {
			return apperr.Internalf("encode co-signature: %w", err)
		}
		co = string(b)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		q := s.db.TxQuerier(tx)
		if _, err := q.ExecContext(ctx, `INSERT INTO attestation_quota (subject, inserts) VALUES ($1, 1)
			ON CONFLICT (subject) DO UPDATE SET inserts = attestation_quota.inserts + 1`, a.Subject); err != nil {
			return err
		}
		exists := func(query string, args ...any) (bool, error) {
			var one int
			err := q.QueryRowContext(ctx, query, args...).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return false, nil
			}
			return err == nil, err
		}
		if ok, err := exists(`SELECT 1 FROM attestations WHERE (subject = $1 AND type = $2 AND evidence_hash = $3) OR id = $4 LIMIT 1`,
			a.Subject, a.Type, a.EvidenceHash, a.ID); err != nil || ok {
			return refusal(err, attestation.ErrReplayed.With("id", a.ID))
		}
		if a.TransferID != "" {
			if ok, err := exists(`SELECT 1 FROM attestations WHERE type = $1 AND transfer_id = $2 LIMIT 1`, a.Type, a.TransferID); err != nil || ok {
				return refusal(err, attestation.ErrTransferAttested.With("transfer_id", a.TransferID))
			}
		}
		if ok, err := exists(`SELECT 1 FROM attestations WHERE subject = $1 AND type = $2 AND attester = $3 AND created_at > $4 LIMIT 1`,
			a.Subject, a.Type, a.Attester, store.Time(a.CreatedAt.Add(-lim.Cooldown))); err != nil || ok {
			return refusal(err, attestation.ErrCooldown.With("cooldown", lim.Cooldown.String()))
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM attestations WHERE subject = $1 AND created_at > $2`,
			a.Subject, store.Time(a.CreatedAt.Add(-24*time.Hour))).Scan(&n); err != nil {
			return err
		}
		if n >= lim.Daily {
			return errRefused{attestation.ErrDailyLimit.With("limit", lim.Daily)}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO attestations (`+cols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, '', $13)`,
			a.ID, a.Type, a.Subject, a.Attester, a.EvidenceHash, a.EvidenceURI, store.Time(a.IssuedAt), a.TransferID, string(sig), co,
			a.Reward, a.RewardKey, store.Time(a.CreatedAt))
		if store.IsUniqueViolation(err) {
			return errRefused{attestation.ErrReplayed.With("id", a.ID)}
		}
		return err
	})
	var r errRefused
	if errors.As(err, &r) {
		return r.err
	}
	if err != nil {
		return apperr.Internalf("insert attestation: %w", err)
	}
	return nil
}

// refusal is err when the check failed, else the refusal (the check found a conflict).
func refusal(err error, refused error) error {
	if err != nil {
		return err
	}
	return errRefused{refused}
}

func scan(sc interface{ Scan(...any) error }) (attestation.Attestation, error) {
	var a attestation.Attestation
	var sig, co string
	var paid int
	if err := sc.Scan(&a.ID, &a.Type, &a.Subject, &a.Attester, &a.EvidenceHash, &a.EvidenceURI, store.ScanTime(&a.IssuedAt), &a.TransferID,
		&sig, &co, &a.Reward, &a.RewardKey, &paid, &a.RewardTransfer, store.ScanTime(&a.CreatedAt)); err != nil {
		return a, err
	}
	a.IssuedAt, a.CreatedAt = a.IssuedAt.UTC(), a.CreatedAt.UTC()
	a.RewardPaid = paid == 1
	if err := json.Unmarshal([]byte(sig), &a.Signature); err != nil {
		return a, err
	}
	if co != "" {
		a.Cosignature = &attestation.Signature{}
		if err := json.Unmarshal([]byte(co), a.Cosignature); err != nil {
			return a, err
		}
	}
	return a, nil
}

func (s *Store) query(ctx context.Context, what, q string, args ...any) ([]attestation.Attestation, error) {
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, apperr.Internalf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []attestation.Attestation{}
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return nil, apperr.Internalf("%s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("%s: %w", what, err)
	}
	return out, nil
}

// Get reads one attestation.
func (s *Store) Get(ctx context.Context, id string) (attestation.Attestation, bool, error) {
	as, err := s.query(ctx, "read attestation", `SELECT `+cols+` FROM attestations WHERE id = $1`, id)
	if err != nil || len(as) == 0 {
		return attestation.Attestation{}, false, err
	}
	return as[0], true, nil
}

// List lists attestations matching q newest first (ties by id, descending), after the cursor.
func (s *Store) List(ctx context.Context, q attestation.Query, after *attestation.Cursor, limit int) ([]attestation.Attestation, error) {
	query := `SELECT ` + cols + ` FROM attestations WHERE 1 = 1`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Subject != "" {
		query += ` AND subject = ` + arg(q.Subject)
	}
	if q.Type != "" {
		query += ` AND type = ` + arg(q.Type)
	}
	if q.Attester != "" {
		query += ` AND attester = ` + arg(q.Attester)
	}
	if after != nil {
		t := arg(store.Time(after.CreatedAt))
		query += ` AND (created_at < ` + t + ` OR (created_at = ` + t + ` AND id < ` + arg(after.ID) + `))`
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(max(limit, 1))
	return s.query(ctx, "list attestations", query, args...)
}

// MarkPaid records that the ledger paid id's reward with transferID.
func (s *Store) MarkPaid(ctx context.Context, id, transferID string) error {
	if _, err := s.db.Write().ExecContext(ctx, `UPDATE attestations SET reward_paid = 1, reward_transfer = $1 WHERE id = $2`, transferID, id); err != nil {
		return apperr.Internalf("mark attestation paid: %w", err)
	}
	return nil
}

// Unpaid lists up to limit attestations whose reward is not recorded as paid, oldest first.
func (s *Store) Unpaid(ctx context.Context, limit int) ([]attestation.Attestation, error) {
	return s.query(ctx, "unpaid attestations", `SELECT `+cols+` FROM attestations WHERE reward_paid = 0 ORDER BY created_at LIMIT `+strconv.Itoa(max(limit, 1)))
}

// AttestationCounts is the number of (verified, stored) attestations of every subject that has
// one, from one query.
func (s *Store) AttestationCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT subject, count(*) FROM attestations GROUP BY subject`)
	if err != nil {
		return nil, apperr.Internalf("count attestations: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var a string
		var n int
		if err := rows.Scan(&a, &n); err != nil {
			return nil, apperr.Internalf("count attestations: %w", err)
		}
		out[a] = n
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("count attestations: %w", err)
	}
	return out, nil
}

// AttestationCount is the number of attestations of one subject.
func (s *Store) AttestationCount(ctx context.Context, agent string) (int, error) {
	var n int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) FROM attestations WHERE subject = $1`, agent).Scan(&n); err != nil {
		return 0, apperr.Internalf("count attestations: %w", err)
	}
	return n, nil
}
