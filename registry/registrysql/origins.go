package registrysql

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/store"
)

// AgentOrigin is who registered an agent, and when.
type AgentOrigin struct {
	DeveloperID string
	CreatedAt   time.Time
}

// maxOriginLookup bounds the ids of one AgentOrigins query (SQLite's parameters).
const maxOriginLookup = 500

// AgentOrigins reads the developer and registration time of each of the agents (those the
// registry does not know, or not registered yet, are absent), a query per 500 ids: the
// auditor's sybil-funnel rule asks it.
func AgentOrigins(ctx context.Context, db *store.DB, ids []string) (map[string]AgentOrigin, error) {
	out := make(map[string]AgentOrigin, len(ids))
	for len(ids) > 0 {
		part := ids[:min(len(ids), maxOriginLookup)]
		ids = ids[len(part):]
		args := make([]any, len(part))
		ph := make([]string, len(part))
		for i, a := range part {
			args[i] = a
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		rows, err := db.Read().QueryContext(ctx, `SELECT id, developer_id, created_at FROM agents WHERE status <> 'pending' AND id IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, apperr.Internalf("agent origins: %w", err)
		}
		for rows.Next() {
			var id string
			var o AgentOrigin
			if err := rows.Scan(&id, &o.DeveloperID, store.ScanTime(&o.CreatedAt)); err != nil {
				rows.Close()
				return nil, apperr.Internalf("agent origins: %w", err)
			}
			out[id] = o
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, apperr.Internalf("agent origins: %w", err)
		}
	}
	return out, nil
}
