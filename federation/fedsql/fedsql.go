// Package fedsql stores federation peers (federation_peers) and where this registry stands
// in each peer's change feed (federation_sync_cursors), on SQLite and PostgreSQL alike.
package fedsql

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/store"
)

// Store implements federation.Store and federation.CursorStore.
type Store struct{ db *store.DB }

var _ federation.Store = (*Store)(nil)

// New returns the store over db.
func New(db *store.DB) *Store { return &Store{db: db} }

const cols = `id, name, base_url, trust_domain, bundle_endpoint, state, proposed_by, decided_by, reason, version, created_at, updated_at`

// InsertPeer adds p; federation.ErrPeerExists when its trust domain already has a peer that
// is not REJECTED.
func (s *Store) InsertPeer(ctx context.Context, p federation.Peer) error {
	_, err := s.db.Write().ExecContext(ctx, `INSERT INTO federation_peers (`+cols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ID, p.Name, p.BaseURL, p.TrustDomain, p.BundleEndpoint, string(p.State), p.ProposedBy, p.DecidedBy, p.Reason, p.Version,
		store.Time(p.CreatedAt), store.Time(p.UpdatedAt))
	if store.IsUniqueViolation(err) {
		return federation.ErrPeerExists.With("field", "trust_domain").With("trust_domain", p.TrustDomain)
	}
	if err != nil {
		return apperr.Internalf("insert peer: %w", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (federation.Peer, error) {
	var p federation.Peer
	var state string
	err := r.Scan(&p.ID, &p.Name, &p.BaseURL, &p.TrustDomain, &p.BundleEndpoint, &state, &p.ProposedBy, &p.DecidedBy, &p.Reason, &p.Version,
		store.ScanTime(&p.CreatedAt), store.ScanTime(&p.UpdatedAt))
	p.State = federation.State(state)
	return p, err
}

// GetPeer reads peer id.
func (s *Store) GetPeer(ctx context.Context, id string) (federation.Peer, error) {
	p, err := scan(s.db.Read().QueryRowContext(ctx, `SELECT `+cols+` FROM federation_peers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, federation.ErrPeerNotFound.With("id", id)
	}
	if err != nil {
		return p, apperr.Internalf("read peer: %w", err)
	}
	return p, nil
}

// ListPeers lists every peer, oldest first.
func (s *Store) ListPeers(ctx context.Context) ([]federation.Peer, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+cols+` FROM federation_peers ORDER BY created_at, id`)
	if err != nil {
		return nil, apperr.Internalf("list peers: %w", err)
	}
	defer rows.Close()
	var out []federation.Peer
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, apperr.Internalf("list peers: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("list peers: %w", err)
	}
	return out, nil
}

// SetState moves peer id from state from to state to, compare-and-set on from.
func (s *Store) SetState(ctx context.Context, id string, from, to federation.State, by, reason string, at time.Time) (federation.Peer, error) {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE federation_peers SET state = $1, decided_by = $2, reason = $3, version = version + 1, updated_at = $4
		WHERE id = $5 AND state = $6`, string(to), by, reason, store.Time(at), id, string(from))
	if store.IsUniqueViolation(err) {
		// Reactivating next to a newer proposal of the same trust domain.
		return federation.Peer{}, federation.ErrPeerExists.With("id", id)
	}
	if err != nil {
		return federation.Peer{}, apperr.Internalf("update peer: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return federation.Peer{}, apperr.Internalf("update peer: %w", err)
	}
	p, err := s.GetPeer(ctx, id)
	if err != nil {
		return p, err
	}
	if n == 0 {
		return p, federation.ErrPeerStateChanged.With("state", string(p.State))
	}
	return p, nil
}

var _ federation.CursorStore = (*Store)(nil)

// SyncCursor implements federation.CursorStore.
func (s *Store) SyncCursor(ctx context.Context, td string) (string, error) {
	var c string
	err := s.db.Read().QueryRowContext(ctx, `SELECT cursor FROM federation_sync_cursors WHERE trust_domain = $1`, td).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", apperr.Internalf("read sync cursor: %w", err)
	}
	return c, nil
}

// SetSyncCursor implements federation.CursorStore.
func (s *Store) SetSyncCursor(ctx context.Context, td, cursor string, at time.Time) error {
	_, err := s.db.Write().ExecContext(ctx, `INSERT INTO federation_sync_cursors (trust_domain, cursor, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (trust_domain) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`, td, cursor, store.Time(at))
	if err != nil {
		return apperr.Internalf("keep sync cursor: %w", err)
	}
	return nil
}
