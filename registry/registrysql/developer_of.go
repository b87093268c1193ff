package registrysql

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/store"
)

// DeveloperOfAgent returns the id of the developer who registered agent, or "" for an agent this
// registry does not know (a TEG without the registry knows none).
func DeveloperOfAgent(ctx context.Context, db *store.DB, agent string) (string, error) {
	var dev string
	err := db.Read().QueryRowContext(ctx, `SELECT developer_id FROM agents WHERE id = $1`, agent).Scan(&dev)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", apperr.Internalf("developer of agent %s: %w", agent, err)
	}
	return dev, nil
}
