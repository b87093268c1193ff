package tegsql

import (
	"context"
	"fmt"

	"github.com/sovereign-stack/sovereign/teg"
)

// Params returns the parameter set in force at the stored head.
func (l *Ledger) Params(ctx context.Context) (teg.Params, error) {
	h, err := l.Head(ctx)
	if err != nil {
		return teg.Params{}, err
	}
	return l.engine.InForce(h)
}

// ParamsHistory returns every version of the parameter set, oldest first, the one in force
// last: version 1 (the configured set, which no event made) and then each set a params event
// put in force, read from the log.
func (l *Ledger) ParamsHistory(ctx context.Context) ([]teg.ParamsVersion, error) {
	first, err := l.engine.InForce(teg.Head{})
	if err != nil {
		return nil, err
	}
	out := []teg.ParamsVersion{{Params: first}}
	q := l.db.Replica(ctx)
	rows, err := q.QueryContext(ctx, `SELECT seq FROM teg_params ORDER BY version`)
	if err != nil {
		return nil, err
	}
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, s := range seqs {
		e, t, _, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+recordCols+recordFrom+` WHERE e.seq = $1`, s))
		if err != nil {
			return nil, fmt.Errorf("params event %d: %w", s, err)
		}
		p, err := teg.ParseParams(e.Data["params"])
		if err != nil {
			return nil, fmt.Errorf("params event %d: %w", s, err)
		}
		out = append(out, teg.ParamsVersion{Params: p, Seq: e.Seq, TransferID: t.ID, SetAt: e.Time, Message: t.Message})
	}
	return out, nil
}
