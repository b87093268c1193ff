package store

import "database/sql"

// PoolStats is how the database's connections are used, summed over its handles.
type PoolStats struct {
	// InUse and Idle are the open connections serving a query and waiting for one.
	InUse, Idle int
	// Max is the most connections the handles may open (0: no limit).
	Max int
}

// PoolStats reports the connections of the pgx pool on PostgreSQL, and of the writer and the
// reader on SQLite. It is cheap (no query) and safe to call at any time.
func (db *DB) PoolStats() PoolStats {
	if db.pool != nil {
		s := db.pool.Stat()
		return PoolStats{InUse: int(s.AcquiredConns()), Idle: int(s.IdleConns()), Max: int(s.MaxConns())}
	}
	var out PoolStats
	unlimited := false
	add := func(h *sql.DB) {
		s := h.Stats()
		out.InUse += s.InUse
		out.Idle += s.Idle
		out.Max += s.MaxOpenConnections
		unlimited = unlimited || s.MaxOpenConnections == 0
	}
	add(db.write)
	if db.read != db.write {
		add(db.read)
	}
	if unlimited {
		out.Max = 0
	}
	return out
}
