package teg

import (
	"context"
	"slices"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
)

// StateReader is what the ledger reads of its keyed state: the records of staking (validators,
// delegations, unbonding and redelegation entries, the epoch clock), each a canonical JSON text
// under a key. A Reader that keeps staking state implements it; the staking commands need it.
//
// The keyed state is part of the ledger's state machine like balances are: every command that
// changes a record names the record's new text in its event's data (key "s/"+key; "" deletes),
// so the hash-chained log holds every change and teg verify rebuilds the state from it.
type StateReader interface {
	// State returns the record under key, and false when there is none.
	State(ctx context.Context, key string) (string, bool, error)
	// ScanState returns the records whose keys start with prefix, in key order, at most limit
	// of them (0: all).
	ScanState(ctx context.Context, prefix string, limit int) ([]StateEntry, error)
}

// StateEntry is one record of the keyed state. In Changes.State an empty Value deletes the key.
type StateEntry struct {
	Key   string
	Value string
}

// stateDataPrefix marks the keys of an event's data that carry keyed-state changes.
const stateDataPrefix = "s/"

// errNoState refuses a staking command on a store that keeps no keyed state.
var errNoState = apperr.Internalf("the ledger's store keeps no staking state")

// state returns the record under key as the batch sees it.
func (b *batch) state(key string) (string, bool, error) {
	if v, ok := b.stateOverlay[key]; ok {
		return v, v != "", nil
	}
	sr, ok := b.r.(StateReader)
	if !ok {
		return "", false, errNoState
	}
	v, found, err := sr.State(b.ctx, key)
	if err != nil {
		return "", false, apperr.Internalf("read state %s: %w", key, err)
	}
	return v, found, nil
}

// scanState returns the records under prefix as the batch sees them, in key order.
func (b *batch) scanState(prefix string, limit int) ([]StateEntry, error) {
	sr, ok := b.r.(StateReader)
	if !ok {
		return nil, errNoState
	}
	// Read past limit by as many keys as the batch changed under prefix, then merge.
	var mine []string
	for k := range b.stateOverlay {
		if strings.HasPrefix(k, prefix) {
			mine = append(mine, k)
		}
	}
	n := limit
	if n > 0 {
		n += len(mine)
	}
	stored, err := sr.ScanState(b.ctx, prefix, n)
	if err != nil {
		return nil, apperr.Internalf("scan state %s: %w", prefix, err)
	}
	if len(mine) == 0 {
		return stored, nil
	}
	merged := make(map[string]string, len(stored)+len(mine))
	for _, e := range stored {
		merged[e.Key] = e.Value
	}
	for _, k := range mine {
		merged[k] = b.stateOverlay[k]
	}
	out := make([]StateEntry, 0, len(merged))
	for k, v := range merged {
		if v != "" {
			out = append(out, StateEntry{k, v})
		}
	}
	slices.SortFunc(out, func(a, b StateEntry) int { return strings.Compare(a.Key, b.Key) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// stateWrites collects the keyed-state changes of the command being applied; they take effect
// (in the batch, and in the event's data) only once it is applied.
type stateWrites struct {
	keys []string
	vals map[string]string
}

func (w *stateWrites) put(key, value string) {
	if w.vals == nil {
		w.vals = map[string]string{}
	}
	if _, ok := w.vals[key]; !ok {
		w.keys = append(w.keys, key)
	}
	w.vals[key] = value
}

func (w *stateWrites) del(key string) { w.put(key, "") }

// get returns key as the command so far left it, then as the batch sees it.
func (b *batch) getState(w *stateWrites, key string) (string, bool, error) {
	if v, ok := w.vals[key]; ok {
		return v, v != "", nil
	}
	return b.state(key)
}

// commitState makes the command's state writes part of the batch and of the event's data.
func (b *batch) commitState(w *stateWrites, data map[string]string) map[string]string {
	if len(w.keys) == 0 {
		return data
	}
	if data == nil {
		data = make(map[string]string, len(w.keys))
	}
	if b.stateOverlay == nil {
		b.stateOverlay = map[string]string{}
	}
	for _, k := range w.keys {
		v := w.vals[k]
		if _, seen := b.stateOverlay[k]; !seen {
			b.stateOrder = append(b.stateOrder, k)
		}
		b.stateOverlay[k] = v
		data[stateDataPrefix+k] = v
	}
	return data
}

// StateChanges returns the keyed-state changes an event records, in key order.
func (e *Event) StateChanges() []StateEntry {
	var out []StateEntry
	for k, v := range e.Data {
		if strings.HasPrefix(k, stateDataPrefix) {
			out = append(out, StateEntry{strings.TrimPrefix(k, stateDataPrefix), v})
		}
	}
	slices.SortFunc(out, func(a, b StateEntry) int { return strings.Compare(a.Key, b.Key) })
	return out
}
