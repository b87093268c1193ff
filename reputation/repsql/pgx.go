package repsql

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/reputation"
)

// copyThreshold is the number of scores from which PutScores on PostgreSQL streams them with
// COPY into a temporary table and upserts from it in one statement (a full pass), rather than
// in multi-row statements.
const copyThreshold = 5000

// graphPgx is Graph on PostgreSQL through pgx directly: the binary protocol and no
// database/sql conversions, for the 10 M rows of a large pass.
func (s *Store) graphPgx(ctx context.Context, pool *pgxpool.Pool) (reputation.RatingGraph, error) {
	var b graphBuilder
	rows, err := pool.Query(ctx, queryAgents)
	if err != nil {
		return b.g, apperr.Internalf("read rated agents: %w", err)
	}
	var n int64
	var agent string
	if _, err = pgx.ForEachRow(rows, []any{&n, &agent}, func() error { return b.agent(n, agent) }); err != nil {
		return b.g, apperr.Internalf("read rated agents: %w", err)
	}
	rows, err = pool.Query(ctx, queryPairs)
	if err != nil {
		return b.g, apperr.Internalf("read rating graph: %w", err)
	}
	var from, to, sat, good, bad int64
	if _, err = pgx.ForEachRow(rows, []any{&from, &to, &sat, &good, &bad}, func() error { return b.pair(from, to, sat, good, bad) }); err != nil {
		return b.g, apperr.Internalf("read rating graph: %w", err)
	}
	return b.g, nil
}

// putScoresCopy writes scores on PostgreSQL in one transaction: COPY into a temporary table,
// then one upsert from it.
func (s *Store) putScoresCopy(ctx context.Context, pool *pgxpool.Pool, scores []reputation.StoredScore) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE reputation_scores_in (LIKE reputation_scores INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return err
		}
		i := 0
		var rowErr error
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(scores) {
				return nil, nil
			}
			sc := scores[i]
			i++
			factors, inputs, err := encodeScore(sc)
			if err != nil {
				rowErr = err
				return nil, err
			}
			return []any{sc.Agent, sc.Score, sc.Tier, factors, sc.ComputedAt.UTC(), inputs}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"reputation_scores_in"}, []string{"agent", "score", "tier", "factors", "computed_at", "inputs"}, src); err != nil {
			if rowErr != nil {
				return rowErr
			}
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO reputation_scores (agent, score, tier, factors, computed_at, inputs)
			SELECT agent, score, tier, factors, computed_at, inputs FROM reputation_scores_in
			ON CONFLICT (agent) DO UPDATE SET score = excluded.score, tier = excluded.tier, factors = excluded.factors,
				computed_at = excluded.computed_at, inputs = excluded.inputs`)
		return err
	})
	if err != nil {
		return apperr.Internalf("store scores: %w", err)
	}
	return nil
}
