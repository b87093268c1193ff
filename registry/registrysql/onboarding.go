package registrysql

import (
	"context"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/store"
)

// Onboarding implements registry.OnboardingStore.
type Onboarding struct {
	db    *store.DB
	cards *Cards
}

var _ registry.OnboardingStore = (*Onboarding)(nil)

// NewOnboarding returns the onboarding store over db.
func NewOnboarding(db *store.DB) *Onboarding { return &Onboarding{db: db, cards: NewCards(db)} }

// ErrKeyInUse is the answer to a registration with a key another agent already has.
var ErrKeyInUse = apperr.New(apperr.Conflict, "KEY_IN_USE", "another agent is registered with this public key (its DID is taken)").With("field", "public_key")

const bootstrapCols = `id, developer_id, hash, created_at, expires_at, used_at, revoked_at, agent_id`

func scanBootstrap(sc interface{ Scan(...any) error }) (*registry.BootstrapToken, error) {
	var t registry.BootstrapToken
	err := sc.Scan(&t.ID, &t.DeveloperID, &t.Hash, store.ScanTime(&t.CreatedAt), store.ScanTime(&t.ExpiresAt),
		store.ScanNullTime(&t.UsedAt), store.ScanNullTime(&t.RevokedAt), &t.AgentID)
	return &t, err
}

// InsertBootstrapToken implements registry.OnboardingStore.
func (s *Onboarding) InsertBootstrapToken(ctx context.Context, t *registry.BootstrapToken) error {
	_, err := s.db.Write().ExecContext(ctx, `INSERT INTO bootstrap_tokens (id, developer_id, hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, t.ID, t.DeveloperID, t.Hash, store.Time(t.CreatedAt), store.Time(t.ExpiresAt))
	return err
}

// BootstrapTokenByHash implements registry.OnboardingStore.
func (s *Onboarding) BootstrapTokenByHash(ctx context.Context, hash string) (*registry.BootstrapToken, error) {
	t, err := scanBootstrap(s.db.Read().QueryRowContext(ctx, `SELECT `+bootstrapCols+` FROM bootstrap_tokens WHERE hash = $1`, hash))
	return t, notFound(err, registry.ErrBootstrapTokenInvalid)
}

// OutstandingBootstrapTokens implements registry.OnboardingStore.
func (s *Onboarding) OutstandingBootstrapTokens(ctx context.Context, developerID string, now time.Time) ([]registry.BootstrapToken, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+bootstrapCols+` FROM bootstrap_tokens WHERE developer_id = $1
		AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 ORDER BY id`, developerID, store.Time(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []registry.BootstrapToken
	for rows.Next() {
		t, err := scanBootstrap(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// RevokeBootstrapToken implements registry.OnboardingStore.
func (s *Onboarding) RevokeBootstrapToken(ctx context.Context, developerID, id string, at time.Time) error {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE bootstrap_tokens SET revoked_at = $3 WHERE id = $1 AND developer_id = $2
		AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3`, id, developerID, store.Time(at))
	return mustAffect(res, err, registry.ErrBootstrapNotFound)
}

// ReserveAgent implements registry.OnboardingStore.
func (s *Onboarding) ReserveAgent(ctx context.Context, tokenHash string, now time.Time, a *registry.Agent, grant registry.GrantDecision) error {
	return s.cards.write(ctx, func(q store.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE bootstrap_tokens SET used_at = $2, agent_id = $3 WHERE hash = $1
			AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, tokenHash, store.Time(now), a.ID)
		if err := mustAffect(res, err, registry.ErrBootstrapTokenInvalid); err != nil {
			return err
		}
		granted, err := s.grantedSince(ctx, q, a.DeveloperID, now.Add(-registry.GrantWindow))
		if err != nil {
			return err
		}
		a.StartingGrant = grant(granted)
		_, err = q.ExecContext(ctx, `INSERT INTO agents (id, developer_id, did, spiffe_id, public_key, client_id, secret_hash, status,
			created_at, updated_at, starting_grant) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, a.ID, a.DeveloperID, a.DID, a.SPIFFEID,
			[]byte(a.PublicKey), a.ClientID, a.SecretHash, a.Status, store.Time(a.CreatedAt), store.Time(a.UpdatedAt), a.StartingGrant)
		if store.IsUniqueViolation(err) {
			return ErrKeyInUse
		}
		return err
	})
}

// grantedSince locks the developer's starting grants for the rest of the transaction (SQLite has
// one writer at a time; on PostgreSQL an advisory lock per developer, so concurrent
// registrations in any replica wait for each other) and sums those of agents created after
// since. Only agents that got a grant are read: while the cap holds they are few.
func (s *Onboarding) grantedSince(ctx context.Context, q store.Querier, developerID string, since time.Time) (avt.Amount, error) {
	if s.db.Dialect() == store.Postgres {
		if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7243902, hashtext($1))`, developerID); err != nil {
			return avt.Amount{}, err
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT starting_grant FROM agents WHERE developer_id = $1 AND created_at > $2
		AND starting_grant IS NOT NULL AND starting_grant <> $3`, developerID, store.Time(since), avt.Amount{})
	if err != nil {
		return avt.Amount{}, err
	}
	defer rows.Close()
	var sum avt.Amount
	for rows.Next() {
		var g avt.Amount
		if err := rows.Scan(&g); err != nil {
			return avt.Amount{}, err
		}
		var ok bool
		if sum, ok = sum.Add(g); !ok {
			return avt.Max, nil
		}
	}
	return sum, rows.Err()
}

// CompleteAgent implements registry.OnboardingStore.
func (s *Onboarding) CompleteAgent(ctx context.Context, a *registry.Agent, c *registry.AgentCard) error {
	return s.cards.write(ctx, func(q store.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE agents SET status = $2 WHERE id = $1 AND status = 'pending'`, a.ID, a.Status)
		if err := mustAffect(res, err, registry.ErrAgentNotFound); err != nil {
			return err
		}
		seq, err := s.cards.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		// A failed INSERT would abort the transaction on PostgreSQL, so a taken slug is looked
		// for first; nextSeq's lock keeps another card from taking it meanwhile.
		var taken bool
		if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM agent_cards WHERE slug = $1)`, c.Slug).Scan(&taken); err != nil {
			return err
		}
		if taken {
			c.DisambiguateSlug()
		}
		return s.cards.insert(ctx, q, c, seq, a.DeveloperID)
	})
}

// ReleaseAgent implements registry.OnboardingStore.
func (s *Onboarding) ReleaseAgent(ctx context.Context, agentID string) error {
	return s.cards.write(ctx, func(q store.Querier) error {
		if _, err := q.ExecContext(ctx, `UPDATE bootstrap_tokens SET used_at = NULL, agent_id = '' WHERE agent_id = $1`, agentID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM agents WHERE id = $1 AND status = 'pending'`, agentID)
		return err
	})
}

// PendingAgents implements registry.OnboardingStore.
func (s *Onboarding) PendingAgents(ctx context.Context, before time.Time) ([]string, error) {
	return store.Strings(ctx, s.db.Read(), `SELECT id FROM agents WHERE status = 'pending' AND created_at < $1 ORDER BY id`, store.Time(before))
}

const agentCols = `id, developer_id, did, spiffe_id, public_key, client_id, secret_hash, status, suspended_by, created_at, updated_at, last_heartbeat_at`

func scanAgent(sc interface{ Scan(...any) error }) (*registry.Agent, error) {
	var a registry.Agent
	var pub []byte
	err := sc.Scan(&a.ID, &a.DeveloperID, &a.DID, &a.SPIFFEID, &pub, &a.ClientID, &a.SecretHash, &a.Status, &a.SuspendedBy,
		store.ScanTime(&a.CreatedAt), store.ScanTime(&a.UpdatedAt), store.ScanNullTime(&a.LastHeartbeatAt))
	a.PublicKey = pub
	return &a, err
}

// Agent implements registry.OnboardingStore.
func (s *Onboarding) Agent(ctx context.Context, id string) (*registry.Agent, error) {
	a, err := scanAgent(s.db.Read().QueryRowContext(ctx, `SELECT `+agentCols+` FROM agents WHERE id = $1`, id))
	return a, notFound(err, registry.ErrAgentNotFound)
}

// AgentsOf implements registry.OnboardingStore.
func (s *Onboarding) AgentsOf(ctx context.Context, developerID, after string, limit int) ([]registry.Agent, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+agentCols+` FROM agents WHERE developer_id = $1 AND id > $2 AND status <> 'pending' ORDER BY id LIMIT $3`,
		developerID, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []registry.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// AgentStatus implements registry.OnboardingStore.
func (s *Onboarding) AgentStatus(ctx context.Context, id string) (string, error) {
	var status string
	err := s.db.Read().QueryRowContext(ctx, `SELECT status FROM agents WHERE id = $1`, id).Scan(&status)
	return status, notFound(err, registry.ErrAgentNotFound)
}

// AgentStatusGeneration implements registry.OnboardingStore: the counter the agents table's
// triggers move on every change of an agent's status (migration 00013).
func (s *Onboarding) AgentStatusGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT generation FROM agent_status_generation WHERE id = 1`).Scan(&gen)
	return gen, err
}

// AgentByClientID implements registry.OnboardingStore.
func (s *Onboarding) AgentByClientID(ctx context.Context, clientID string) (*registry.Agent, error) {
	a, err := scanAgent(s.db.Read().QueryRowContext(ctx, `SELECT `+agentCols+` FROM agents WHERE client_id = $1`, clientID))
	return a, notFound(err, registry.ErrAgentNotFound)
}

// Heartbeat implements registry.OnboardingStore.
func (s *Onboarding) Heartbeat(ctx context.Context, agentID string, at time.Time) error {
	return s.cards.write(ctx, func(q store.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE agents SET last_heartbeat_at = $2 WHERE id = $1`, agentID, store.Time(at))
		if err := mustAffect(res, err, registry.ErrAgentNotFound); err != nil {
			return err
		}
		var status string
		err = q.QueryRowContext(ctx, `SELECT status FROM agent_cards WHERE id = $1 AND deleted_at IS NULL`, agentID).Scan(&status)
		if err != nil {
			return notFound(err, nil)
		}
		if status != discovery.StatusInactive {
			_, err = q.ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2 WHERE id = $1`, agentID, store.Time(at))
			return err
		}
		// Back from silence: active again, as a change the discovery indexes follow.
		seq, err := s.cards.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE agent_cards SET last_heartbeat_at = $2, status = 'active', seq = $3 WHERE id = $1`,
			agentID, store.Time(at), seq)
		return err
	})
}

// SetAgentStatus implements registry.OnboardingStore.
func (s *Onboarding) SetAgentStatus(ctx context.Context, agentID string, from, to registry.AgentState, at time.Time) error {
	return s.cards.write(ctx, func(q store.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE agents SET status = $4, suspended_by = $5, updated_at = $6
			WHERE id = $1 AND status = $2 AND suspended_by = $3`,
			agentID, from.Status, from.SuspendedBy, to.Status, to.SuspendedBy, store.Time(at))
		if err := mustAffect(res, err, registry.ErrAgentStatusChanged); err != nil {
			return err
		}
		seq, err := s.cards.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		// An agent back to active is listed as active; its heartbeats keep it so.
		_, err = q.ExecContext(ctx, `UPDATE agent_cards SET status = $2, seq = $3, updated_at = $4 WHERE id = $1 AND deleted_at IS NULL`,
			agentID, to.Status, seq, store.Time(at))
		return err
	})
}

// SetAgentSecret implements registry.OnboardingStore.
func (s *Onboarding) SetAgentSecret(ctx context.Context, agentID, secretHash string, at time.Time) error {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE agents SET secret_hash = $2, updated_at = $3 WHERE id = $1`, agentID, secretHash, store.Time(at))
	return mustAffect(res, err, registry.ErrAgentNotFound)
}

// MarkStale implements registry.OnboardingStore.
func (s *Onboarding) MarkStale(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.cards.write(ctx, func(q store.Querier) error {
		stale, err := store.Strings(ctx, q, `SELECT c.id FROM agent_cards c JOIN agents a ON a.id = c.id
			WHERE c.status = 'active' AND c.deleted_at IS NULL AND a.status = 'active'
			AND COALESCE(a.last_heartbeat_at, a.created_at) < $1 ORDER BY c.id`, store.Time(before))
		if err != nil {
			return err
		}
		if len(stale) == 0 {
			return nil
		}
		seq, err := s.cards.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		for i, id := range stale {
			if _, err := q.ExecContext(ctx, `UPDATE agent_cards SET status = 'inactive', seq = $2 WHERE id = $1`, id, seq+int64(i)); err != nil {
				return err
			}
		}
		n = len(stale)
		return nil
	})
	return n, err
}
