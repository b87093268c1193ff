package deploy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ruleFile is a Prometheus rule file; unknown keys are refused.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) map[string]rule {
	t.Helper()
	var f ruleFile
	if err := decodeYAMLStrict(readFile(t, filepath.Join("prometheus", "alerts.yml")), &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	alerts := map[string]rule{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: a name and rules are required", g.Name)
		}
		for _, r := range g.Rules {
			if (r.Alert == "") == (r.Record == "") {
				t.Errorf("group %s: a rule is either an alert or a recording rule: %+v", g.Name, r)
				continue
			}
			if _, dup := alerts[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = r
		}
	}
	return alerts
}

var templateRef = regexp.MustCompile(`\{\{\s*\$labels\.([a-z_]+)\s*\}\}`)

func TestAlertRules_ParseAndHavePlaybooks(t *testing.T) {
	alerts := loadRules(t)
	anchors := operationsAnchors(t)
	for name, r := range alerts {
		if err := checkPromQL(r.Expr); err != nil {
			t.Errorf("%s: expr: %v", name, err)
		}
		if r.For != "" {
			if _, err := promDuration(r.For); err != nil {
				t.Errorf("%s: for: %v", name, err)
			}
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", name, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: summary and description annotations required", name)
		}
		checkRunbook(t, name, r.Annotations["runbook_url"], anchors)
		// A label a template names must survive the expression's aggregation.
		for _, text := range r.Annotations {
			for _, m := range templateRef.FindAllStringSubmatch(text, -1) {
				if by := aggregationLabels(r.Expr); by != nil && !by[m[1]] {
					t.Errorf("%s: annotation uses $labels.%s, which the expression aggregates away", name, m[1])
				}
			}
		}
	}
}

// aggregationLabels returns the labels the outermost "by (...)" of expr keeps, or nil when
// expr has none (the series keep their labels).
func aggregationLabels(expr string) map[string]bool {
	m := regexp.MustCompile(`\bby\s*\(([^)]*)\)`).FindStringSubmatch(expr)
	if m == nil {
		return nil
	}
	keep := map[string]bool{}
	for _, l := range strings.Split(m[1], ",") {
		keep[strings.TrimSpace(l)] = true
	}
	return keep
}

// TestAlertRules_SeedAlerts pins the three alerts operators expect, with their thresholds.
func TestAlertRules_SeedAlerts(t *testing.T) {
	alerts := loadRules(t)
	for _, c := range []struct {
		name, severity, forDur string
		contains               []string
	}{
		{"HighErrorRate", "critical", "5m", []string{`sovereign_http_requests_total{code=~"5.."}`, "sovereign_http_requests_total[5m]", "> 0.01"}},
		{"LowTokenBalance", "warning", "", []string{"sovereign_treasury_balance_avt", "< 10000"}},
		{"CertificateExpiringSoon", "critical", "", []string{"sovereign_svid_expiry_seconds", "< 7200"}},
		{"TargetDown", "critical", "", []string{"up{"}},
		{"AuditorLagging", "warning", "", []string{"sovereign_auditor_lag_seconds"}},
		{"HighP99Latency", "warning", "", []string{"histogram_quantile(0.99", "sovereign_http_request_duration_seconds_bucket"}},
	} {
		r, ok := alerts[c.name]
		if !ok {
			t.Errorf("no alert %s", c.name)
			continue
		}
		if r.Labels["severity"] != c.severity || (c.forDur != "" && r.For != c.forDur) {
			t.Errorf("%s: severity %q for %q, want %q for %q", c.name, r.Labels["severity"], r.For, c.severity, c.forDur)
		}
		for _, s := range c.contains {
			if !strings.Contains(r.Expr, s) {
				t.Errorf("%s: expr %q lacks %q", c.name, r.Expr, s)
			}
		}
	}
}
