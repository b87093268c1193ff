package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/store/storetest"
)

// contractMetrics are the metric families operators' dashboards and alerts rely on.
var contractMetrics = []string{
	"sovereign_http_requests_total", "sovereign_http_request_duration_seconds", "sovereign_http_requests_in_flight",
	"sovereign_auth_failures_total", "sovereign_rate_limit_hits_total", "sovereign_auditor_flags_raised_total",
	"sovereign_auditor_events_behind", "sovereign_password_hashes_in_flight",
	"sovereign_db_pool_connections", "sovereign_active_agents", "sovereign_ledger_transfers_total",
	"sovereign_ledger_transfer_volume_avt_total", "sovereign_ledger_fees_avt_total", "sovereign_treasury_balance_avt",
	"sovereign_staking_staked_avt", "sovereign_staking_rewards_paid_avt_total", "sovereign_attestations_total",
	"sovereign_disputes_opened_total", "sovereign_disputes_resolved_total", "sovereign_dispute_resolution_seconds",
	"sovereign_policy_denials_total", "sovereign_auditor_lag_seconds",
}

// svidMetrics exist in the split services, which hold an X.509-SVID of their own.
var svidMetrics = []string{"sovereign_svid_rotations_total", "sovereign_svid_expiry_seconds"}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// sample is the value of the series line that starts with series, or "" when there is none.
func sample(text, series string) string {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

func TestMetrics_ContractFamiliesOnAStartedServer(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1000", "agt_alice", "agt_bob")
		alice := s.agentToken("agt_alice", "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "50"}, alice).want(t, 201, "")
		s.do("GET", "/api/v1/token/balance?account=agt_bob", nil, alice).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/developers/me", nil, bearer("not-a-key")).want(t, 401, "INVALID_TOKEN")

		ada := s.register("ada@example.com", true)
		agent := s.registerAgent(ada, "Heartbeating Agent")
		s.do("POST", "/api/v1/agents/me/heartbeat", nil, bearer(s.clientToken(agent).want(t, 200, "").str("access_token"))).want(t, 200, "")
		s.registerAgent(ada, "Silent Agent") // no heartbeat: not active

		names := s.server.MetricNames()
		for _, n := range contractMetrics {
			if !slices.Contains(names, n) {
				t.Errorf("MetricNames lacks %s", n)
			}
		}
		m := scrape(t, s.server.MetricsHandler())
		for _, n := range contractMetrics {
			if !strings.Contains(m, "\n"+n) {
				t.Errorf("/metrics lacks %s", n)
			}
		}
		for _, kind := range []string{"card", "params", "balance"} { // the caches of hot reads
			for _, n := range []string{"hits", "misses", "invalidations", "errors"} {
				name := "sovereign_hotcache_" + n + "_total"
				if !slices.Contains(names, name) || !strings.Contains(m, "\n"+name+`{kind="`+kind+`"}`) {
					t.Errorf("%s{kind=%q} not exported", name, kind)
				}
			}
		}
		for series, want := range map[string]string{
			"sovereign_ledger_transfers_total":           "1",
			"sovereign_ledger_transfer_volume_avt_total": "50",
			"sovereign_ledger_fees_avt_total":            "0.05",
			"sovereign_disputes_opened_total":            "0",
			`sovereign_db_pool_connections{state="max"}`: "",
			"sovereign_active_agents":                    "1",
			"sovereign_staking_staked_avt":               "0",
			"sovereign_auditor_lag_seconds":              "",
			"sovereign_teg_balance_ack_delays_total":     "0",
		} {
			got := sample(m, series)
			if got == "" || want != "" && got != want {
				t.Errorf("%s = %q, want %q", series, got, want)
			}
		}
		if v := sample(m, "sovereign_treasury_balance_avt"); v == "" || v == "0" || strings.HasPrefix(v, "-") {
			t.Errorf("treasury balance = %q", v)
		}
		if !regexp.MustCompile(`sovereign_policy_denials_total\{rule="[^"]+"\} [1-9]`).MatchString(m) {
			t.Errorf("no policy denial counted:\n%s", grepLines(m, "sovereign_policy_denials_total"))
		}
	})
}

func TestMetrics_SplitServicesExportTheirSVID(t *testing.T) {
	sp := newSplit(t, storetest.SQLite(t), 0)
	for _, srv := range []interface {
		MetricNames() []string
		MetricsHandler() http.Handler
	}{sp.teg, sp.registry} {
		m := scrape(t, srv.MetricsHandler())
		for _, want := range []string{`sovereign_svid_rotations_total{result="success"} 0`, `sovereign_svid_rotations_total{result="failure"} 0`} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if v := sample(m, "sovereign_svid_expiry_seconds"); v == "" || strings.HasPrefix(v, "-") {
			t.Errorf("svid expiry = %q", v)
		}
	}
	if slices.Contains(sp.teg.MetricNames(), "sovereign_active_agents") || !slices.Contains(sp.registry.MetricNames(), "sovereign_active_agents") {
		t.Error("active agents are the registry's figure")
	}
	if !slices.Contains(sp.teg.MetricNames(), "sovereign_treasury_balance_avt") || slices.Contains(sp.registry.MetricNames(), "sovereign_treasury_balance_avt") {
		t.Error("the treasury balance is the TEG's figure")
	}
}

var metricRef = regexp.MustCompile(`sovereign_[a-z0-9_]+`)

// TestDeployReferencesOnlyExportedMetrics: every metric a Grafana dashboard or a Prometheus
// file in deploy/ names is one some service exports (histogram series by their family).
func TestDeployReferencesOnlyExportedMetrics(t *testing.T) {
	var files []string
	for _, g := range []string{"../deploy/grafana/dashboards/*.json", "../deploy/prometheus/*.yml", "../deploy/prometheus/*.yaml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Log("deploy/ holds no dashboards or Prometheus files: nothing to check")
		return
	}
	exported := map[string]bool{}
	for _, n := range newStack(t, storetest.SQLite(t)).server.MetricNames() {
		exported[n] = true
	}
	sp := newSplit(t, storetest.SQLite(t), 0)
	for _, n := range append(sp.teg.MetricNames(), sp.registry.MetricNames()...) {
		exported[n] = true
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range metricRef.FindAllString(string(b), -1) {
			name := ref
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(ref, suffix); ok && exported[base] {
					name = base
				}
			}
			if !exported[name] {
				t.Errorf("%s names %s, which no service exports", f, ref)
			}
		}
	}
}
