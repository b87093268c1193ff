// Package soak keeps the accounts of a soak run (`sovereign soak`): the operations the load
// generator made, each in the named window of the run it started in (steady, or a fault such as a
// killed registry); the journal of every write the services acknowledged; the check of that
// journal against what the stores hold at the end; and the run's report. It starts nothing
// itself: the soak command drives the processes and feeds this package.
package soak

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaxSteadyErrorRate is the highest error rate allowed outside the fault windows (1 %).
const MaxSteadyErrorRate = 0.01

// Window is a named span of a run. Fault windows run from a fault's injection until the
// services answer again (plus a grace); the others are steady.
type Window struct {
	Name  string
	Fault bool
	Start time.Time
	// End is zero while the window is open.
	End time.Time
	// Notes count events observed in the window (Recorder.Note).
	Notes map[string]int
}

// Note adds n to the count name of the window open at at (events the run observed, such as
// SVID rotations); before the first window it is dropped.
func (r *Recorder) Note(name string, n int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.windows) - 1; i >= 0; i-- {
		if !at.Before(r.windows[i].Start) {
			if r.windows[i].Notes == nil {
				r.windows[i].Notes = map[string]int{}
			}
			r.windows[i].Notes[name] += n
			return
		}
	}
}

// op is one operation of the load.
type op struct {
	kind  string
	start time.Time
	took  time.Duration
	err   string
}

// Recorder records the operations of a run and the windows they fall in. Safe for concurrent
// use.
type Recorder struct {
	mu      sync.Mutex
	windows []Window
	ops     []op
}

// Open ends the open window (if any) at at and opens the window name.
func (r *Recorder) Open(name string, fault bool, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked(at)
	r.windows = append(r.windows, Window{Name: name, Fault: fault, Start: at})
}

// Close ends the open window at at.
func (r *Recorder) Close(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked(at)
}

func (r *Recorder) closeLocked(at time.Time) {
	if n := len(r.windows); n > 0 && r.windows[n-1].End.IsZero() {
		r.windows[n-1].End = at
	}
}

// Record records an operation of kind that started at start and took took; err nil is a
// success.
func (r *Recorder) Record(kind string, start time.Time, took time.Duration, err error) {
	o := op{kind: kind, start: start, took: took}
	if err != nil {
		o.err = err.Error()
		if o.err == "" {
			o.err = "error"
		}
	}
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

// WindowStats are the operations that started in one window.
type WindowStats struct {
	Window
	Ops, Errors int
	// P99 is the 99th percentile latency of the window's successful operations.
	P99 time.Duration
	// Samples are up to three distinct error messages, the most frequent first.
	Samples []string
}

// ErrorRate is Errors/Ops (0 without operations).
func (w WindowStats) ErrorRate() float64 { return rate(w.Errors, w.Ops) }

// KindStats are the operations of one kind over the whole run.
type KindStats struct {
	Kind        string
	Ops, Errors int
	// PerSecond is the rate of successful operations over the run.
	PerSecond float64
	// P50 and P99 are latency quantiles of the successful operations.
	P50, P99 time.Duration
}

// Summary is a run's operations by window and by kind.
type Summary struct {
	Start, End time.Time
	Windows    []WindowStats
	Kinds      []KindStats
	// SteadyOps and SteadyErrors add up the windows that are not faults.
	SteadyOps, SteadyErrors int
	// Unplaced counts operations that started outside every window (before the first).
	Unplaced int
}

// SteadyErrorRate is the error rate outside the fault windows.
func (s Summary) SteadyErrorRate() float64 { return rate(s.SteadyErrors, s.SteadyOps) }

func rate(errs, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(errs) / float64(ops)
}

// Summarize puts each operation in its window (see windowOf) and computes the statistics.
func (r *Recorder) Summarize() Summary {
	r.mu.Lock()
	windows := slices.Clone(r.windows)
	for i := range windows {
		windows[i].Notes = maps.Clone(windows[i].Notes)
	}
	ops := slices.Clone(r.ops)
	r.mu.Unlock()
	var s Summary
	for _, o := range ops {
		if s.Start.IsZero() || o.start.Before(s.Start) {
			s.Start = o.start
		}
		if e := o.start.Add(o.took); e.After(s.End) {
			s.End = e
		}
	}
	if len(windows) > 0 {
		s.Start = windows[0].Start
		if last := windows[len(windows)-1]; !last.End.IsZero() && last.End.After(s.End) {
			s.End = last.End
		}
	}
	stats := make([]WindowStats, len(windows))
	samples := make([]map[string]int, len(windows))
	lats := make([][]time.Duration, len(windows))
	for i, w := range windows {
		stats[i].Window = w
		samples[i] = map[string]int{}
	}
	type kindAcc struct {
		ops, errs int
		lat       []time.Duration
	}
	kinds := map[string]*kindAcc{}
	for _, o := range ops {
		k := kinds[o.kind]
		if k == nil {
			k = &kindAcc{}
			kinds[o.kind] = k
		}
		k.ops++
		if o.err != "" {
			k.errs++
		} else {
			k.lat = append(k.lat, o.took)
		}
		i := windowOf(windows, o.start, o.start.Add(o.took))
		if i < 0 {
			s.Unplaced++
			continue
		}
		stats[i].Ops++
		if o.err != "" {
			stats[i].Errors++
			samples[i][clip(o.kind+": "+o.err, 160)]++
		} else {
			lats[i] = append(lats[i], o.took)
		}
	}
	for i := range stats {
		stats[i].Samples = topSamples(samples[i], 3)
		slices.Sort(lats[i])
		stats[i].P99 = quantile(lats[i], 0.99)
		if !stats[i].Fault {
			s.SteadyOps += stats[i].Ops
			s.SteadyErrors += stats[i].Errors
		}
	}
	s.Windows = stats
	secs := s.End.Sub(s.Start).Seconds()
	for name, k := range kinds {
		slices.Sort(k.lat)
		ks := KindStats{Kind: name, Ops: k.ops, Errors: k.errs, P50: quantile(k.lat, 0.50), P99: quantile(k.lat, 0.99)}
		if secs > 0 {
			ks.PerSecond = float64(k.ops-k.errs) / secs
		}
		s.Kinds = append(s.Kinds, ks)
	}
	sort.Slice(s.Kinds, func(i, j int) bool { return s.Kinds[i].Kind < s.Kinds[j].Kind })
	return s
}

// windowOf is the index of the window an operation from start to end counts in: the first
// fault window it overlaps (one that began while it ran counts too: the fault may be what
// failed it), else the window that holds start (a window holds [Start, End); the open window
// everything after its start), or -1 when it started before the first window.
func windowOf(ws []Window, start, end time.Time) int {
	at := -1
	for i := len(ws) - 1; i >= 0; i-- {
		if !start.Before(ws[i].Start) {
			at = i
			break
		}
	}
	if at < 0 {
		return -1
	}
	for i := at; i < len(ws); i++ {
		if i > at && !ws[i].Start.Before(end) {
			break
		}
		if ws[i].Fault {
			return i
		}
	}
	return at
}

func quantile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func topSamples(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s (×%d)", k, m[k])
	}
	return keys
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
