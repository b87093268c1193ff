package tegsql

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
)

// The keyed state (teg.StateReader) is the table teg_state (migration 00012).

// prefixEnd is the smallest key after every key that starts with prefix (keys are ASCII).
func prefixEnd(prefix string) string {
	if prefix == "" {
		return "\x7f"
	}
	return prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
}

func readState(ctx context.Context, q store.Querier, key string) (string, bool, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM teg_state WHERE key = $1`, key).Scan(&v)
	if isNoRows(err) {
		return "", false, nil
	}
	return v, err == nil, err
}

func scanState(ctx context.Context, q store.Querier, prefix string, limit int) ([]teg.StateEntry, error) {
	query := `SELECT key, value FROM teg_state WHERE key >= $1 AND key < $2 ORDER BY key`
	args := []any{prefix, prefixEnd(prefix)}
	if limit > 0 {
		query += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []teg.StateEntry
	for rows.Next() {
		var e teg.StateEntry
		if err := rows.Scan(&e.Key, &e.Value); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// State returns the stored record under key (teg.StateReader), as committed.
func (l *Ledger) State(ctx context.Context, key string) (string, bool, error) {
	return readState(ctx, l.db.Read(), key)
}

// ScanState returns the stored records under prefix in key order, at most limit (0: all).
func (l *Ledger) ScanState(ctx context.Context, prefix string, limit int) ([]teg.StateEntry, error) {
	return scanState(ctx, l.db.Read(), prefix, limit)
}

// State reads a record as the group sees it: its own changes, the group before it, the database.
func (o *overlay) State(ctx context.Context, key string) (string, bool, error) {
	if v, ok := o.state[key]; ok {
		return v, v != "", nil
	}
	if o.base != nil {
		if v, ok := o.base.state[key]; ok {
			return v, v != "", nil
		}
	}
	return readState(ctx, o.w.q, key)
}

// ScanState scans the records under prefix as the group sees them.
func (o *overlay) ScanState(ctx context.Context, prefix string, limit int) ([]teg.StateEntry, error) {
	layers := []map[string]string{}
	if o.base != nil {
		layers = append(layers, o.base.state)
	}
	layers = append(layers, o.state)
	extra := 0
	for _, m := range layers {
		for k := range m {
			if strings.HasPrefix(k, prefix) {
				extra++
			}
		}
	}
	n := limit
	if n > 0 {
		n += extra
	}
	stored, err := scanState(ctx, o.w.q, prefix, n)
	if err != nil || extra == 0 {
		return stored, err
	}
	merged := make(map[string]string, len(stored)+extra)
	for _, e := range stored {
		merged[e.Key] = e.Value
	}
	for _, m := range layers {
		for k, v := range m {
			if strings.HasPrefix(k, prefix) {
				merged[k] = v
			}
		}
	}
	out := make([]teg.StateEntry, 0, len(merged))
	for k, v := range merged {
		if v != "" {
			out = append(out, teg.StateEntry{Key: k, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b teg.StateEntry) int { return strings.Compare(a.Key, b.Key) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// stateRows encodes the group's final keyed-state changes: upserts as (key, value) pairs, and
// the keys to delete.
func (en *encoder) state(all *teg.Changes) {
	en.rows.stateSet, en.rows.stateDel = en.rows.stateSet[:0], en.rows.stateDel[:0]
	if len(all.State) == 0 {
		return
	}
	final := make(map[string]string, len(all.State))
	var order []string
	for _, e := range all.State {
		if _, ok := final[e.Key]; !ok {
			order = append(order, e.Key)
		}
		final[e.Key] = e.Value
	}
	for _, k := range order {
		if v := final[k]; v == "" {
			en.rows.stateDel = append(en.rows.stateDel, k)
		} else {
			en.rows.stateSet = append(en.rows.stateSet, k, v)
		}
	}
}

// writeState writes the group's keyed-state changes.
func (w *writer) writeState(ctx context.Context, r *groupRows) error {
	if err := w.insert(ctx, "teg_state", "key, value", 2, r.stateSet, ` ON CONFLICT (key) DO UPDATE SET value = excluded.value`); err != nil {
		return fmt.Errorf("write staking state: %w", err)
	}
	for _, part := range chunks(r.stateDel, w.chunk()) {
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		if _, err := w.q.ExecContext(ctx, `DELETE FROM teg_state WHERE key IN (`+placeholders(1, len(part))+`)`, args...); err != nil {
			return fmt.Errorf("delete staking state: %w", err)
		}
	}
	return nil
}
