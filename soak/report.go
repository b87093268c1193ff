package soak

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is a soak run's outcome: its operations, the journal check, `teg verify` and any
// other checks the command made (SVID rotations, for one).
type Report struct {
	// Command is the command line; Setup says what ran (processes, load).
	Command, Setup string
	// LoadAverage is the machine's 1-minute load average at the end.
	LoadAverage string
	Summary     Summary
	Journal     Check
	// Verify is `teg verify`'s output; VerifyOK whether it passed.
	Verify   string
	VerifyOK bool
	// Checks are further named checks: passed, and what was seen.
	Checks []NamedCheck
}

// NamedCheck is one more check of a run.
type NamedCheck struct {
	Name   string
	OK     bool
	Detail string
}

// Failures lists why the run failed: the error rate outside the fault windows at 1 % or more,
// a journal discrepancy, `teg verify` failing, a failed named check. Empty: the run passed.
func (r Report) Failures() []string {
	var f []string
	if r.Summary.SteadyOps == 0 {
		f = append(f, "no operations outside the fault windows")
	} else if rate := r.Summary.SteadyErrorRate(); rate >= MaxSteadyErrorRate {
		f = append(f, fmt.Sprintf("error rate outside the fault windows %.2f %% (%d of %d), not under %.0f %%",
			100*rate, r.Summary.SteadyErrors, r.Summary.SteadyOps, 100*MaxSteadyErrorRate))
	}
	if !r.Journal.OK() {
		f = append(f, fmt.Sprintf("journal check: %d problems", len(r.Journal.Problems)))
	}
	if !r.VerifyOK {
		f = append(f, "teg verify failed")
	}
	for _, c := range r.Checks {
		if !c.OK {
			f = append(f, c.Name+": "+c.Detail)
		}
	}
	return f
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// Markdown renders the report as markdown (tables), for the terminal and for --report.
func (r Report) Markdown() string {
	var b strings.Builder
	s := r.Summary
	result := "PASSED"
	if len(r.Failures()) > 0 {
		result = "FAILED"
	}
	fmt.Fprintf(&b, "### Soak run: %s\n\n", result)
	if r.Command != "" {
		fmt.Fprintf(&b, "`%s` — %s, load average %s at the end.\n\n", r.Command, s.End.Sub(s.Start).Round(time.Second), r.LoadAverage)
	}
	if r.Setup != "" {
		b.WriteString(r.Setup + "\n\n")
	}
	b.WriteString("| operation | ok/s | ops | errors | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|\n")
	for _, k := range s.Kinds {
		fmt.Fprintf(&b, "| %s | %.1f | %d | %d | %s | %s |\n", k.Kind, k.PerSecond, k.Ops, k.Errors, ms(k.P50), ms(k.P99))
	}
	var notes []string // the notes' names, in the order first seen
	for _, w := range s.Windows {
		for _, n := range sortedKeys(w.Notes) {
			if !slices.Contains(notes, n) {
				notes = append(notes, n)
			}
		}
	}
	b.WriteString("\n| window | kind | from s | for s | ops | errors | error rate | p99 ms |")
	for _, n := range notes {
		b.WriteString(" " + n + " |")
	}
	b.WriteString(" first errors |\n|---|---|---:|---:|---:|---:|---:|---:|" + strings.Repeat("---:|", len(notes)) + "---|\n")
	for _, w := range s.Windows {
		kind := "steady"
		if w.Fault {
			kind = "fault"
		}
		end := w.End
		if end.IsZero() {
			end = s.End
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %d | %d | %.2f %% | %s |", w.Name, kind, w.Start.Sub(s.Start).Seconds(),
			end.Sub(w.Start).Seconds(), w.Ops, w.Errors, 100*w.ErrorRate(), ms(w.P99))
		for _, n := range notes {
			fmt.Fprintf(&b, " %d |", w.Notes[n])
		}
		fmt.Fprintf(&b, " %s |\n", strings.ReplaceAll(strings.Join(w.Samples, "; "), "|", "/"))
	}
	fmt.Fprintf(&b, "\nOutside the fault windows: %d operations, %d errors, error rate %.3f %% (must stay under %.0f %%).\n",
		s.SteadyOps, s.SteadyErrors, 100*s.SteadyErrorRate(), 100*MaxSteadyErrorRate)
	if s.Unplaced > 0 {
		fmt.Fprintf(&b, "%d operations started before the first window.\n", s.Unplaced)
	}
	j := r.Journal
	if j.OK() {
		fmt.Fprintf(&b, "\nJournal check: OK — %d acknowledged transfers each in the ledger exactly once, balances as the journal says, %d acknowledged cards in their registries, %d paid tasks' holds posted once.\n",
			j.Transfers, j.Cards, j.Payments)
	} else {
		fmt.Fprintf(&b, "\nJournal check: FAILED (%d transfers, %d cards, %d payments journaled):\n\n", j.Transfers, j.Cards, j.Payments)
		for _, p := range j.Problems {
			b.WriteString("- " + p + "\n")
		}
	}
	fmt.Fprintf(&b, "\n`teg verify`: %s\n", strings.TrimSpace(r.Verify))
	for _, c := range r.Checks {
		mark := "OK"
		if !c.OK {
			mark = "FAILED"
		}
		fmt.Fprintf(&b, "\n%s: %s — %s\n", c.Name, mark, c.Detail)
	}
	if f := r.Failures(); len(f) > 0 {
		b.WriteString("\nFailures:\n\n")
		for _, x := range f {
			b.WriteString("- " + x + "\n")
		}
	}
	return b.String()
}
