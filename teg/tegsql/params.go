package tegsql

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sovereign-stack/sovereign/hotcache"

	"github.com/sovereign-stack/sovereign/store"
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
// put in force, read from the log. With a params cache (WithParamsCache) the history is read
// once per change: the list of params events' seqs is read each time (one small query), and
// the cached history is used while its version, the last params event's seq, is that list's
// last — so a change by any process shows at once, in memory as in Redis.
func (l *Ledger) ParamsHistory(ctx context.Context) ([]teg.ParamsVersion, error) {
	return store.ReadReplica(ctx, l.db, func(q store.Querier) ([]teg.ParamsVersion, error) {
		first, err := l.engine.InForce(teg.Head{})
		if err != nil {
			return nil, err
		}
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
		var version int64
		if len(seqs) > 0 {
			version = seqs[len(seqs)-1]
		}
		if l.params != nil {
			if es, err := l.params.Get(ctx, paramsKey); err == nil && es[0].OK && es[0].Version == version && len(es[0].Val) == len(seqs)+1 {
				return slices.Clone(es[0].Val), nil
			}
		}
		out := []teg.ParamsVersion{{Params: first}}
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
		if l.params != nil {
			_ = l.params.Set(ctx, paramsKey, version, slices.Clone(out)) // a failing cache: the log answered
		}
		return out, nil
	})
}

// paramsKey is the params cache's one key.
const paramsKey = "history"

// WithParamsCache keeps the parameter history (ParamsHistory) in c, versioned by the seq of
// the last params event.
func WithParamsCache(c hotcache.Cache[[]teg.ParamsVersion]) Option {
	return func(l *Ledger) { l.params = c }
}

// paramsWire is a version of the parameter set as a shared params cache stores it.
type paramsWire struct {
	Params     string    `json:"params"`
	Seq        uint64    `json:"seq"`
	TransferID string    `json:"transfer_id"`
	SetAt      time.Time `json:"set_at"`
	Message    string    `json:"message"`
}

// ParamsCodec encodes the parameter history for a shared params cache (Redis): each set in
// its canonical text (Params.Encode).
var ParamsCodec = hotcache.Codec[[]teg.ParamsVersion]{
	Marshal: func(h []teg.ParamsVersion) ([]byte, error) {
		w := make([]paramsWire, len(h))
		for i, v := range h {
			w[i] = paramsWire{Params: v.Params.Encode(), Seq: v.Seq, TransferID: v.TransferID, SetAt: v.SetAt, Message: v.Message}
		}
		return json.Marshal(w)
	},
	Unmarshal: func(b []byte) ([]teg.ParamsVersion, error) {
		var w []paramsWire
		if err := json.Unmarshal(b, &w); err != nil {
			return nil, err
		}
		h := make([]teg.ParamsVersion, len(w))
		for i, v := range w {
			p, err := teg.ParseParams(v.Params)
			if err != nil {
				return nil, err
			}
			h[i] = teg.ParamsVersion{Params: p, Seq: v.Seq, TransferID: v.TransferID, SetAt: v.SetAt, Message: v.Message}
		}
		return h, nil
	},
}
