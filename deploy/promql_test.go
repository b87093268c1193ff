package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// checkPromQL is a syntax check of the PromQL the rules and dashboards hold — not the
// Prometheus parser (its module brings a large dependency tree), but what catches the usual
// slips: unbalanced brackets, unterminated strings, malformed label matchers, bad range
// durations, unknown functions, and a metric name outside the metric contract.
func checkPromQL(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("empty expression")
	}
	var stack []rune
	closing := map[rune]rune{')': '(', ']': '[', '}': '{'}
	rs := []rune(expr)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '"' || r == '\'' || r == '`':
			j := i + 1
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && r != '`' {
					j++
				}
			}
			if j >= len(rs) {
				return fmt.Errorf("unterminated string at %d", i)
			}
			i = j
		case r == '(' || r == '[':
			stack = append(stack, r)
			if r == '[' {
				end := slices.Index(rs[i:], ']')
				if end < 0 {
					return fmt.Errorf("unclosed [ at %d", i)
				}
				if err := checkRange(string(rs[i+1 : i+end])); err != nil {
					return err
				}
			}
		case r == '{':
			end := slices.Index(rs[i:], '}')
			if end < 0 {
				return fmt.Errorf("unclosed { at %d", i)
			}
			if err := checkMatchers(string(rs[i+1 : i+end])); err != nil {
				return err
			}
			stack = append(stack, r)
		case r == ')' || r == ']' || r == '}':
			if len(stack) == 0 || stack[len(stack)-1] != closing[r] {
				return fmt.Errorf("unbalanced %q at %d", r, i)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	for _, m := range callPattern.FindAllStringSubmatch(stripStrings(expr), -1) {
		if !promFunctions[m[1]] {
			return fmt.Errorf("unknown function or aggregation %q", m[1])
		}
	}
	for _, name := range metricNames(expr) {
		if !contractSeries[name] {
			return fmt.Errorf("metric %s is not in the metric contract", name)
		}
	}
	return nil
}

var (
	callPattern    = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	stringPattern  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	matcherPattern = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$`)
	metricPattern  = regexp.MustCompile(`\bsovereign_[a-z0-9_]+\b`)
	// keywords may stand before "(" without being functions.
	keywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "and": true, "or": true, "unless": true, "bool": true, "offset": true}
)

func stripStrings(expr string) string { return stringPattern.ReplaceAllString(expr, `""`) }

// metricNames returns the sovereign_* series an expression reads (outside string literals).
func metricNames(expr string) []string {
	return metricPattern.FindAllString(stripStrings(expr), -1)
}

func checkRange(s string) error {
	s = strings.TrimSpace(s)
	rng, step, subquery := strings.Cut(s, ":")
	if _, err := promDuration(rng); err != nil {
		return fmt.Errorf("range [%s]: %w", s, err)
	}
	if subquery && step != "" { // [range:] takes the default resolution
		if _, err := promDuration(step); err != nil {
			return fmt.Errorf("range [%s]: %w", s, err)
		}
	}
	return nil
}

// promDuration parses a Prometheus duration (1h30m, 5m, 2d, 1w).
func promDuration(s string) (time.Duration, error) {
	switch s {
	case "":
		return 0, fmt.Errorf("empty duration")
	case "$__rate_interval", "$__interval", "$__range": // Grafana's interval variables
		return time.Minute, nil
	}
	var total time.Duration
	for s != "" {
		i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
		if i <= 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		var n int
		fmt.Sscan(s[:i], &n)
		s = s[i:]
		unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
		matched := false
		for _, u := range []string{"ms", "s", "m", "h", "d", "w", "y"} {
			if strings.HasPrefix(s, u) {
				total += time.Duration(n) * unit[u]
				s = s[len(u):]
				matched = true
				break
			}
		}
		if !matched {
			return 0, fmt.Errorf("bad duration unit in %q", s)
		}
	}
	return total, nil
}

func checkMatchers(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	// Split on commas outside strings.
	var parts []string
	start, inStr := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inStr:
			i++
		case s[i] == '"':
			inStr = !inStr
		case s[i] == ',' && !inStr:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			continue // a trailing comma
		}
		if !matcherPattern.MatchString(p) {
			return fmt.Errorf("label matcher %q is not NAME OP \"VALUE\"", strings.TrimSpace(p))
		}
	}
	return nil
}

var promFunctions = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(`sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
		abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year days_in_month
		delta deriv exp floor histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum
		hour idelta increase irate label_join label_replace ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc
		sort_by_label sort_by_label_desc sqrt time timestamp vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time
		quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time
		acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg pi rad label_values`) {
		m[f] = true
	}
	for k := range keywords {
		m[k] = true
	}
	return m
}()

// contractMetrics are the metric names the servers export (the metric contract); histograms
// are read through their _bucket, _sum and _count series.
var contractMetrics = map[string]string{
	"sovereign_http_requests_total":              "counter",
	"sovereign_http_request_duration_seconds":    "histogram",
	"sovereign_http_requests_in_flight":          "gauge",
	"sovereign_auth_failures_total":              "counter",
	"sovereign_rate_limit_hits_total":            "counter",
	"sovereign_auditor_flags_raised_total":       "counter",
	"sovereign_auditor_events_behind":            "gauge",
	"sovereign_db_pool_connections":              "gauge",
	"sovereign_active_agents":                    "gauge",
	"sovereign_ledger_transfers_total":           "counter",
	"sovereign_ledger_transfer_volume_avt_total": "counter",
	"sovereign_ledger_fees_avt_total":            "counter",
	"sovereign_treasury_balance_avt":             "gauge",
	"sovereign_staking_staked_avt":               "gauge",
	"sovereign_staking_rewards_paid_avt_total":   "counter",
	"sovereign_attestations_total":               "counter",
	"sovereign_disputes_opened_total":            "counter",
	"sovereign_disputes_resolved_total":          "counter",
	"sovereign_dispute_resolution_seconds":       "histogram",
	"sovereign_policy_denials_total":             "counter",
	"sovereign_svid_rotations_total":             "counter",
	"sovereign_svid_expiry_seconds":              "gauge",
	"sovereign_auditor_lag_seconds":              "gauge",
}

// contractSeries are the series names of contractMetrics.
var contractSeries = func() map[string]bool {
	s := map[string]bool{}
	for name, kind := range contractMetrics {
		if kind == "histogram" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				s[name+suffix] = true
			}
			continue
		}
		s[name] = true
	}
	return s
}()

func TestCheckPromQL(t *testing.T) {
	for _, ok := range []string{
		`sum by (job) (rate(sovereign_http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(sovereign_http_requests_total[5m])) > 0.01`,
		`histogram_quantile(0.99, sum by (le) (rate(sovereign_http_request_duration_seconds_bucket{job=~"$job"}[5m])))`,
		`sovereign_db_pool_connections{state="in_use"} / ignoring(state) sovereign_db_pool_connections{state="max"}`,
		`up{job=~"sovereign-.*"} == 0`,
		`max_over_time(sovereign_auditor_lag_seconds[1h:5m])`,
	} {
		if err := checkPromQL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		``,
		`sum(rate(sovereign_http_requests_total[5m])`,
		`rate(sovereign_http_requests_total[5x])`,
		`sovereign_http_requests_total{code=5}`,
		`sovereign_http_requests_total{code="5}`,
		`sumx(sovereign_http_requests_total)`,
		`sovereign_http_request_total`,
		`sovereign_dispute_resolution_seconds`,
		`(sovereign_active_agents]`,
	} {
		if err := checkPromQL(bad); err == nil {
			t.Errorf("checkPromQL accepted %q", bad)
		}
	}
}

func FuzzCheckPromQL(f *testing.F) {
	f.Add(`sum by (job) (rate(sovereign_http_requests_total{code=~"5.."}[5m]))`)
	f.Add(`{a="\"",}[1h:]`)
	f.Fuzz(func(t *testing.T, expr string) {
		_ = checkPromQL(expr) // must not panic
	})
}
