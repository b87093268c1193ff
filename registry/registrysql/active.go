package registrysql

import (
	"context"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/store"
)

// CountActiveAgents counts the active agents whose last heartbeat is at or after since (for the
// active-agents gauge).
func CountActiveAgents(ctx context.Context, db *store.DB, since time.Time) (int, error) {
	var n int
	err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM agents WHERE status = 'active' AND last_heartbeat_at >= $1`, store.Time(since)).Scan(&n)
	if err != nil {
		return 0, apperr.Internalf("count active agents: %w", err)
	}
	return n, nil
}
