// Package repsql stores reputation — ratings and computed scores — in the reputation_ratings
// and reputation_scores tables, on SQLite and PostgreSQL alike.
package repsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/store"
)

// ScoreBatch is how many scores one transaction of PutScores writes.
const ScoreBatch = 500

// Store implements reputation.Store.
type Store struct{ db *store.DB }

var _ reputation.Store = (*Store)(nil)

// New returns the store over db.
func New(db *store.DB) *Store { return &Store{db: db} }

const ratingCols = `interaction_id, rater, ratee, stars, comment, created_at`

// InsertRating stores r; a rating of the same interaction is reputation.ErrAlreadyRated.
func (s *Store) InsertRating(ctx context.Context, r reputation.Rating) error {
	_, err := s.db.Write().ExecContext(ctx, `INSERT INTO reputation_ratings (`+ratingCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.InteractionID, r.Rater, r.Ratee, r.Stars, r.Comment, store.Time(r.CreatedAt))
	if store.IsUniqueViolation(err) {
		return reputation.ErrAlreadyRated.With("field", "interaction_id").With("interaction_id", r.InteractionID)
	}
	if err != nil {
		return apperr.Internalf("insert rating: %w", err)
	}
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

// EachRating streams every rating to fn, from one query (in primary-key order).
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

// PutScores inserts or replaces scores, ScoreBatch rows a statement and a transaction.
func (s *Store) PutScores(ctx context.Context, scores []reputation.StoredScore) error {
	for len(scores) > 0 {
		n := min(len(scores), ScoreBatch)
		batch := scores[:n]
		scores = scores[n:]
		// SQLite looks a $N parameter up by name (a cost quadratic in the parameters of a
		// statement); ?N is bound by position. PostgreSQL knows only $N.
		mark := "$"
		if s.db.Dialect() == store.SQLite {
			mark = "?"
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO reputation_scores (agent, score, tier, factors, computed_at) VALUES `)
		args := make([]any, 0, 5*len(batch))
		for i, sc := range batch {
			factors, err := json.Marshal(sc.Factors)
			if err != nil {
				return apperr.Internalf("encode factors: %w", err)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			k := 5 * i
			b.WriteString("(")
			for c := range 5 {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString(mark + strconv.Itoa(k+c+1))
			}
			b.WriteString(")")
			args = append(args, sc.Agent, sc.Score, sc.Tier, string(factors), store.Time(sc.ComputedAt))
		}
		b.WriteString(` ON CONFLICT (agent) DO UPDATE SET score = excluded.score, tier = excluded.tier, factors = excluded.factors, computed_at = excluded.computed_at`)
		if err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, b.String(), args...)
			return err
		}); err != nil {
			return apperr.Internalf("store scores: %w", err)
		}
	}
	return nil
}

// Score reads an agent's stored score.
func (s *Store) Score(ctx context.Context, agent string) (reputation.StoredScore, bool, error) {
	sc := reputation.StoredScore{Agent: agent}
	var factors string
	err := s.db.Read().QueryRowContext(ctx, `SELECT score, tier, factors, computed_at FROM reputation_scores WHERE agent = $1`, agent).
		Scan(&sc.Score, &sc.Tier, &factors, store.ScanTime(&sc.ComputedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return reputation.StoredScore{}, false, nil
	}
	if err != nil {
		return reputation.StoredScore{}, false, apperr.Internalf("read score: %w", err)
	}
	if err := json.Unmarshal([]byte(factors), &sc.Factors); err != nil {
		return reputation.StoredScore{}, false, apperr.Internalf("score of %s: stored factors: %w", agent, err)
	}
	return sc, true, nil
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
