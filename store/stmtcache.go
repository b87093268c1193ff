package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache is a Querier over a *sql.DB that prepares each distinct query text once and reuses
// the prepared statement (database/sql re-prepares it per connection as needed). Parsing SQL is
// most of the cost of a point query on SQLite; the set of query texts is fixed by the code, so
// the cache is bounded.
type stmtCache struct {
	db      *sql.DB
	stmts   sync.Map // query string → *sql.Stmt
	warming sync.Map // query string → struct{}: being prepared in the background
}

// cached returns the prepared statement of query if there is one already. When there is not, it
// prepares it in the background for next time: inside a transaction on SQLite's single writer
// connection, preparing on the pool would wait for the transaction itself to end.
func (c *stmtCache) cached(query string) (*sql.Stmt, bool) {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt), true
	}
	if _, busy := c.warming.LoadOrStore(query, struct{}{}); !busy {
		go func() {
			_, _ = c.stmt(context.Background(), query)
			c.warming.Delete(query)
		}()
	}
	return nil, false
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.stmts.LoadOrStore(query, s); loaded {
		_ = s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := c.stmt(ctx, query)
	if err != nil {
		// Let database/sql report the same error through a *sql.Row.
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

func (c *stmtCache) close() {
	c.stmts.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		c.stmts.Delete(k)
		return true
	})
}

// txQuerier runs a transaction's statements through the cache's prepared statements, so they
// are not parsed again on a connection that has them already. A nil cache runs them directly.
type txQuerier struct {
	tx    *sql.Tx
	cache *stmtCache
}

func (q txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if q.cache == nil {
		return q.tx.ExecContext(ctx, query, args...)
	}
	s, ok := q.cache.cached(query)
	if !ok {
		return q.tx.ExecContext(ctx, query, args...)
	}
	return q.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
}

func (q txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if q.cache == nil {
		return q.tx.QueryContext(ctx, query, args...)
	}
	s, ok := q.cache.cached(query)
	if !ok {
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
}

func (q txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if q.cache == nil {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	s, ok := q.cache.cached(query)
	if !ok {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
}
