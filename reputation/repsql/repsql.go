// Package repsql stores reputation — ratings and computed scores — in the reputation_ratings
// and reputation_scores tables, on SQLite and PostgreSQL alike.
package repsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/store"
)

// ScoreBatch is how many scores one transaction of PutScores writes.
const ScoreBatch = 2000

// Store implements reputation.Store.
type Store struct{ db *store.DB }

var _ reputation.Store = (*Store)(nil)

// New returns the store over db.
func New(db *store.DB) *Store { return &Store{db: db} }

const ratingCols = `interaction_id, rater, ratee, stars, comment, created_at`

// InsertRating stores r and adds it to the rating graph (reputation_agents, reputation_edges)
// in the same transaction; a rating of the same interaction is reputation.ErrAlreadyRated.
func (s *Store) InsertRating(ctx context.Context, r reputation.Rating) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		q := s.db.TxQuerier(tx)
		if _, err := q.ExecContext(ctx, `INSERT INTO reputation_ratings (`+ratingCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.InteractionID, r.Rater, r.Ratee, r.Stars, r.Comment, store.Time(r.CreatedAt)); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO reputation_agents (agent)
			SELECT v.column1 FROM (VALUES (CAST($1 AS TEXT)), (CAST($2 AS TEXT))) AS v
			WHERE NOT EXISTS (SELECT 1 FROM reputation_agents a WHERE a.agent = v.column1)
			ON CONFLICT (agent) DO NOTHING`, r.Rater, r.Ratee); err != nil {
			return err
		}
		ok, fail := 0, 1
		if r.Stars >= 3 {
			ok, fail = 1, 0
		}
		_, err := q.ExecContext(ctx, `INSERT INTO reputation_edges (rater_n, ratee_n, satisfaction, ok, fail)
			SELECT a.n, b.n, $3, $4, $5 FROM reputation_agents a, reputation_agents b WHERE a.agent = $1 AND b.agent = $2
			ON CONFLICT (rater_n, ratee_n) DO UPDATE SET satisfaction = reputation_edges.satisfaction + excluded.satisfaction,
				ok = reputation_edges.ok + excluded.ok, fail = reputation_edges.fail + excluded.fail`,
			r.Rater, r.Ratee, r.Stars-3, ok, fail)
		return err
	})
	if store.IsUniqueViolation(err) {
		return reputation.ErrAlreadyRated.With("field", "interaction_id").With("interaction_id", r.InteractionID)
	}
	if err != nil {
		return apperr.Internalf("insert rating: %w", err)
	}
	return nil
}

// Graph reads the rating graph: every rated agent, numbered densely from 0 in the store's
// numbering order, and per (rater, ratee) pair the sum of satisfactions and the good and bad
// outcomes. Two sequential scans of narrow tables: this is the load of a full pass.
func (s *Store) Graph(ctx context.Context) (reputation.RatingGraph, error) {
	if pool := s.db.Pool(); pool != nil {
		return s.graphPgx(ctx, pool)
	}
	var b graphBuilder
	rows, err := s.db.Read().QueryContext(ctx, queryAgents)
	if err != nil {
		return b.g, apperr.Internalf("read rated agents: %w", err)
	}
	for rows.Next() {
		var n int64
		var agent string
		err := rows.Scan(&n, &agent)
		if err == nil {
			err = b.agent(n, agent)
		}
		if err != nil {
			rows.Close()
			return b.g, apperr.Internalf("read rated agents: %w", err)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b.g, apperr.Internalf("read rated agents: %w", err)
	}
	rows, err = s.db.Read().QueryContext(ctx, queryPairs)
	if err != nil {
		return b.g, apperr.Internalf("read rating graph: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, to, sat, good, bad int64
		err := rows.Scan(&from, &to, &sat, &good, &bad)
		if err == nil {
			err = b.pair(from, to, sat, good, bad)
		}
		if err != nil {
			return b.g, apperr.Internalf("read rating graph: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return b.g, apperr.Internalf("read rating graph: %w", err)
	}
	return b.g, nil
}

// The queries of the rating graph.
const (
	queryAgents = `SELECT n, agent FROM reputation_agents ORDER BY n`
	queryPairs  = `SELECT rater_n, ratee_n, satisfaction, ok, fail FROM reputation_edges`
)

// graphBuilder makes a RatingGraph from the store's rows: the agents first (numbered densely in
// the store's order), then the pairs, whose store numbers it translates.
type graphBuilder struct {
	g     reputation.RatingGraph
	index []int32 // store number → dense index, -1: none
}

func (b *graphBuilder) agent(n int64, agent string) error {
	if n < 0 || n > 1<<31 {
		return fmt.Errorf("rated agent number %d out of range", n)
	}
	for int64(len(b.index)) <= n {
		b.index = append(b.index, -1)
	}
	b.index[n] = int32(len(b.g.Agents))
	b.g.Agents = append(b.g.Agents, agent)
	return nil
}

func (b *graphBuilder) pair(from, to, sat, good, bad int64) error {
	at := func(n int64) (uint32, bool) {
		if n < 0 || n >= int64(len(b.index)) || b.index[n] < 0 {
			return 0, false
		}
		return uint32(b.index[n]), true
	}
	f, ok1 := at(from)
	t, ok2 := at(to)
	if !ok1 || !ok2 {
		return fmt.Errorf("rating pair (%d, %d) names an unknown agent", from, to)
	}
	b.g.Pairs = append(b.g.Pairs, reputation.Pair{Rater: f, Ratee: t, Satisfaction: sat, Good: good, Bad: bad})
	return nil
}

func scanRating(sc interface{ Scan(...any) error }) (reputation.Rating, error) {
	var r reputation.Rating
	err := sc.Scan(&r.InteractionID, &r.Rater, &r.Ratee, &r.Stars, &r.Comment, store.ScanTime(&r.CreatedAt))
	return r, err
}

// RatingsOf lists ratee's ratings newest first (ties by interaction id, descending), after the
// cursor when given.
func (s *Store) RatingsOf(ctx context.Context, ratee string, after *reputation.RatingCursor, limit int) ([]reputation.Rating, error) {
	q := `SELECT ` + ratingCols + ` FROM reputation_ratings WHERE ratee = $1`
	args := []any{ratee}
	if after != nil {
		q += ` AND (created_at < $2 OR (created_at = $2 AND interaction_id < $3))`
		args = append(args, store.Time(after.CreatedAt), after.InteractionID)
	}
	q += ` ORDER BY created_at DESC, interaction_id DESC LIMIT ` + strconv.Itoa(max(limit, 1))
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, apperr.Internalf("list ratings: %w", err)
	}
	defer rows.Close()
	out := []reputation.Rating{}
	for rows.Next() {
		r, err := scanRating(rows)
		if err != nil {
			return nil, apperr.Internalf("scan rating: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Internalf("list ratings: %w", err)
	}
	return out, nil
}

// EachRating streams every rating to fn, from one query (in primary-key order); an error from
// fn stops it. The reputation pass reads the rating graph instead; the auditor's rating-ring
// rule reads the ratings themselves.
func (s *Store) EachRating(ctx context.Context, fn func(reputation.Rating) error) error {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+ratingCols+` FROM reputation_ratings ORDER BY interaction_id`)
	if err != nil {
		return apperr.Internalf("read ratings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRating(rows)
		if err != nil {
			return apperr.Internalf("scan rating: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return apperr.Internalf("read ratings: %w", err)
	}
	return nil
}

// PutScores inserts or replaces scores, ScoreBatch a transaction.
func (s *Store) PutScores(ctx context.Context, scores []reputation.StoredScore) error {
	if pool := s.db.Pool(); pool != nil && len(scores) > copyThreshold {
		return s.putScoresCopy(ctx, pool, scores)
	}
	rows := scoreRows
	if s.db.Dialect() == store.Postgres {
		rows = ScoreBatch
	}
	full := s.upsertScores(rows)
	for len(scores) > 0 {
		n := min(len(scores), ScoreBatch)
		batch := scores[:n]
		scores = scores[n:]
		if err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			q := s.db.TxQuerier(tx)
			args := make([]any, 0, scoreCols*rows)
			for len(batch) > 0 {
				k := min(len(batch), rows)
				args = args[:0]
				for _, sc := range batch[:k] {
					factors, inputs, err := encodeScore(sc)
					if err != nil {
						return err
					}
					args = append(args, sc.Agent, sc.Score, sc.Tier, factors, store.Time(sc.ComputedAt), inputs)
				}
				stmt := full
				if k < rows {
					stmt = s.upsertScores(k)
				}
				if _, err := q.ExecContext(ctx, stmt, args...); err != nil {
					return err
				}
				batch = batch[k:]
			}
			return nil
		}); err != nil {
			return apperr.Internalf("store scores: %w", err)
		}
	}
	return nil
}

// scoreRows is how many scores one statement of PutScores writes on SQLite. SQLite's driver
// looks every parameter's name up in a list, a cost quadratic in a statement's parameters, so
// statements stay small there (and their text is prepared once and reused).
const scoreRows = 20

// scoreCols is the number of columns upsertScores writes a score in.
const scoreCols = 6

// encodeScore is the stored text of a score's factors and inputs ("": none kept).
func encodeScore(sc reputation.StoredScore) (factors, inputs string, err error) {
	f, err := json.Marshal(sc.Factors)
	if err != nil {
		return "", "", err
	}
	if sc.Inputs != nil {
		in, err := json.Marshal(sc.Inputs)
		if err != nil {
			return "", "", err
		}
		inputs = string(in)
	}
	return string(f), inputs, nil
}

// decodeScore fills sc's factors and inputs from their stored text.
func decodeScore(sc *reputation.StoredScore, factors, inputs string) error {
	if err := json.Unmarshal([]byte(factors), &sc.Factors); err != nil {
		return fmt.Errorf("score of %s: stored factors: %w", sc.Agent, err)
	}
	if inputs != "" {
		sc.Inputs = new(reputation.Inputs)
		if err := json.Unmarshal([]byte(inputs), sc.Inputs); err != nil {
			return fmt.Errorf("score of %s: stored inputs: %w", sc.Agent, err)
		}
	}
	return nil
}

// upsertScores is the statement that inserts or replaces n scores.
func (s *Store) upsertScores(n int) string {
	return `INSERT INTO reputation_scores (agent, score, tier, factors, computed_at, inputs) VALUES ` + s.values(n, scoreCols) +
		` ON CONFLICT (agent) DO UPDATE SET score = excluded.score, tier = excluded.tier, factors = excluded.factors, computed_at = excluded.computed_at, inputs = excluded.inputs`
}

// values is the VALUES list of n rows of k parameters, numbered in order. SQLite looks a $N
// parameter up by name (a cost quadratic in a statement's parameters); ?N is bound by
// position. PostgreSQL knows only $N.
func (s *Store) values(n, k int) string {
	mark := "$"
	if s.db.Dialect() == store.SQLite {
		mark = "?"
	}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for c := range k {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString(mark + strconv.Itoa(k*i+c+1))
		}
		b.WriteString(")")
	}
	return b.String()
}

// Score reads an agent's stored score.
func (s *Store) Score(ctx context.Context, agent string) (reputation.StoredScore, bool, error) {
	return s.readScore(ctx, s.db.Read(), agent, "")
}

// readScore reads agent's stored score through q, the query ending in suffix.
func (s *Store) readScore(ctx context.Context, q store.Querier, agent, suffix string) (reputation.StoredScore, bool, error) {
	sc := reputation.StoredScore{Agent: agent}
	var factors, inputs string
	err := q.QueryRowContext(ctx, `SELECT score, tier, factors, computed_at, inputs FROM reputation_scores WHERE agent = $1`+suffix, agent).
		Scan(&sc.Score, &sc.Tier, &factors, store.ScanTime(&sc.ComputedAt), &inputs)
	if errors.Is(err, sql.ErrNoRows) {
		return reputation.StoredScore{}, false, nil
	}
	if err != nil {
		return reputation.StoredScore{}, false, apperr.Internalf("read score: %w", err)
	}
	if err := decodeScore(&sc, factors, inputs); err != nil {
		return reputation.StoredScore{}, false, apperr.Internalf("%w", err)
	}
	return sc, true, nil
}

// UpdateScore reads agent's score, lets fn change it and stores it, in one transaction that
// holds the row (SQLite: the writer's lock; PostgreSQL: FOR UPDATE, and for an agent not yet
// scored, a serializable transaction that is retried on conflict).
func (s *Store) UpdateScore(ctx context.Context, agent string, fn func(sc *reputation.StoredScore, found bool) error) error {
	suffix := ""
	if s.db.Dialect() == store.Postgres {
		suffix = " FOR UPDATE"
	}
	var fnErr error
	err := s.db.InSerializableTx(ctx, func(tx *sql.Tx) error {
		q := s.db.TxQuerier(tx)
		sc, found, err := s.readScore(ctx, q, agent, suffix)
		if err != nil {
			return err
		}
		if fnErr = fn(&sc, found); fnErr != nil {
			return fnErr
		}
		sc.Agent = agent
		factors, inputs, err := encodeScore(sc)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, s.upsertScores(1), agent, sc.Score, sc.Tier, factors, store.Time(sc.ComputedAt), inputs)
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return apperr.Internalf("update score of %s: %w", agent, err)
	}
	return nil
}

// maxScoreLookup bounds the ids of one ScoreValues query (SQLite's parameters).
const maxScoreLookup = 500

// ScoreValues reads the stored scores of agents (those without one are absent from the answer).
func (s *Store) ScoreValues(ctx context.Context, agents []string) (map[string]int, error) {
	out := make(map[string]int, len(agents))
	for len(agents) > 0 {
		part := agents[:min(len(agents), maxScoreLookup)]
		agents = agents[len(part):]
		args := make([]any, len(part))
		ph := make([]string, len(part))
		for i, a := range part {
			args[i] = a
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		rows, err := s.db.Read().QueryContext(ctx, `SELECT agent, score FROM reputation_scores WHERE agent IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, apperr.Internalf("read scores: %w", err)
		}
		for rows.Next() {
			var a string
			var sc int
			if err := rows.Scan(&a, &sc); err != nil {
				rows.Close()
				return nil, apperr.Internalf("read scores: %w", err)
			}
			out[a] = sc
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, apperr.Internalf("read scores: %w", err)
		}
	}
	return out, nil
}

// ClaimPass claims the scheduled pass for holder at now: it succeeds when the last pass finished
// at least every before now and no pass is running — or the running one started more than
// timeout ago (its replica died). One conditional UPDATE: of replicas claiming at once, one wins.
func (s *Store) ClaimPass(ctx context.Context, holder string, now time.Time, every, timeout time.Duration) (bool, error) {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE reputation_pass SET started_us = $1, holder = $2
		WHERE id = 1 AND finished_us <= $3 AND (started_us <= finished_us OR started_us <= $4)`,
		now.UnixMicro(), holder, now.Add(-every).UnixMicro(), now.Add(-timeout).UnixMicro())
	if err != nil {
		return false, apperr.Internalf("claim the reputation pass: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, apperr.Internalf("claim the reputation pass: %w", err)
	}
	return n == 1, nil
}

// FinishPass records that holder's pass finished at now.
func (s *Store) FinishPass(ctx context.Context, holder string, now time.Time) error {
	if _, err := s.db.Write().ExecContext(ctx, `UPDATE reputation_pass SET finished_us = $1 WHERE id = 1 AND holder = $2`, now.UnixMicro(), holder); err != nil {
		return apperr.Internalf("finish the reputation pass: %w", err)
	}
	return nil
}

// LoadGraph adds a rating graph in bulk to an empty one (reputation_agents and
// reputation_edges), without the ratings it adds up: for benchmarks of the pass, which reads
// only the graph. Agent i of g is stored as number i+1.
func (s *Store) LoadGraph(ctx context.Context, g reputation.RatingGraph) error {
	const rows, perTx = scoreRows, 100_000
	insert := func(table string, k, total int, row func(i int, args []any) []any) error {
		full := `INSERT INTO ` + table + ` VALUES ` + s.values(rows, k)
		for start := 0; start < total; start += perTx {
			end := min(start+perTx, total)
			err := s.db.InTx(ctx, func(tx *sql.Tx) error {
				q := s.db.TxQuerier(tx)
				args := make([]any, 0, k*rows)
				for i := start; i < end; i += rows {
					n := min(rows, end-i)
					args = args[:0]
					for j := i; j < i+n; j++ {
						args = row(j, args)
					}
					stmt := full
					if n < rows {
						stmt = `INSERT INTO ` + table + ` VALUES ` + s.values(n, k)
					}
					if _, err := q.ExecContext(ctx, stmt, args...); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return apperr.Internalf("load the rating graph: %w", err)
			}
		}
		return nil
	}
	if err := insert("reputation_agents (n, agent)", 2, len(g.Agents), func(i int, args []any) []any {
		return append(args, i+1, g.Agents[i])
	}); err != nil {
		return err
	}
	return insert("reputation_edges (rater_n, ratee_n, satisfaction, ok, fail)", 5, len(g.Pairs), func(i int, args []any) []any {
		p := g.Pairs[i]
		return append(args, int64(p.Rater)+1, int64(p.Ratee)+1, p.Satisfaction, p.Good, p.Bad)
	})
}
