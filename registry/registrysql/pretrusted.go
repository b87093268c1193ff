package registrysql

import (
	"context"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/store"
)

// FirstAgentsOfVerifiedDevelopers lists, in id order, the first agent of every developer whose
// email address is verified, when that agent is active: reputation's pre-trusted peers besides
// the validators. "First" is the earliest registered agent that completed registration (pending
// ones are not counted); when it is suspended or revoked the developer has none — a later agent
// does not take its place, so a developer cannot rotate pre-trust onto a new agent.
func FirstAgentsOfVerifiedDevelopers(ctx context.Context, db *store.DB) ([]string, error) {
	ids, err := store.Strings(ctx, db.Read(), `SELECT a.id FROM agents a JOIN developers d ON d.id = a.developer_id
		WHERE d.email_verified_at IS NOT NULL AND a.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM agents b WHERE b.developer_id = a.developer_id AND b.status <> 'pending'
			AND (b.created_at < a.created_at OR (b.created_at = a.created_at AND b.id < a.id)))
		ORDER BY a.id`)
	if err != nil {
		return nil, apperr.Internalf("first agents of verified developers: %w", err)
	}
	return ids, nil
}
