package deploy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dashboard is the part of Grafana's dashboard JSON model the dashboards use; unknown fields
// are refused, so a typo in a key fails here rather than being dropped by Grafana.
type dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Tags          []string `json:"tags"`
	Timezone      string   `json:"timezone"`
	SchemaVersion int      `json:"schemaVersion"`
	Version       int      `json:"version"`
	Editable      bool     `json:"editable"`
	Refresh       string   `json:"refresh"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []struct {
			Name       string         `json:"name"`
			Label      string         `json:"label"`
			Type       string         `json:"type"`
			Datasource grafanaSource  `json:"datasource"`
			Query      string         `json:"query"`
			IncludeAll bool           `json:"includeAll"`
			Multi      bool           `json:"multi"`
			AllValue   string         `json:"allValue"`
			Refresh    int            `json:"refresh"`
			Current    map[string]any `json:"current"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type grafanaSource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Collapsed   bool           `json:"collapsed"`
	Datasource  *grafanaSource `json:"datasource"`
	GridPos     struct {
		H, W, X, Y int
	} `json:"gridPos"`
	FieldConfig *struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID        string        `json:"refId"`
		Datasource   grafanaSource `json:"datasource"`
		Expr         string        `json:"expr"`
		LegendFormat string        `json:"legendFormat"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// grafanaDatasources is Grafana's data source provisioning file.
type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string `yaml:"name"`
		UID       string `yaml:"uid"`
		Type      string `yaml:"type"`
		Access    string `yaml:"access"`
		URL       string `yaml:"url"`
		IsDefault bool   `yaml:"isDefault"`
		Editable  bool   `yaml:"editable"`
	} `yaml:"datasources"`
}

// grafanaProviders is Grafana's dashboard provisioning file.
type grafanaProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		OrgID                 int    `yaml:"orgId"`
		Folder                string `yaml:"folder"`
		Type                  string `yaml:"type"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

func TestGrafana_ProvisioningMatchesCompose(t *testing.T) {
	var ds grafanaDatasources
	if err := decodeYAMLStrict(readFile(t, filepath.Join("grafana", "provisioning", "datasources", "sovereign.yml")), &ds); err != nil {
		t.Fatal(err)
	}
	var pv grafanaProviders
	if err := decodeYAMLStrict(readFile(t, filepath.Join("grafana", "provisioning", "dashboards", "sovereign.yml")), &pv); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) == 0 || ds.Datasources[0].UID != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("the first data source must be Prometheus, uid prometheus, at the compose service: %+v", ds.Datasources)
	}
	mounts := strings.Join(loadCompose(t).Services["grafana"].Volumes, " ")
	for _, p := range pv.Providers {
		if !strings.Contains(mounts, "../grafana/dashboards:"+p.Options.Path+":") {
			t.Errorf("provider %s reads %s, where compose does not mount deploy/grafana/dashboards", p.Name, p.Options.Path)
		}
	}
}

func TestGrafana_DashboardsParseAndQueryTheContract(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("grafana", "dashboards", "*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	seen := map[string]bool{}
	for _, f := range files {
		var d dashboard
		if err := decodeJSONStrict(readFile(t, f), &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
			t.Errorf("%s: uid, title and panels are required", f)
		}
		ids := map[int]bool{}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				where := fmt.Sprintf("%s panel %d %q", f, p.ID, p.Title)
				if ids[p.ID] {
					t.Errorf("%s: duplicate id", where)
				}
				ids[p.ID] = true
				if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
					t.Errorf("%s: gridPos %+v outside the 24-column grid", where, p.GridPos)
				}
				walk(p.Panels)
				if p.Type == "row" {
					continue
				}
				if p.Datasource == nil || p.Datasource.UID != "prometheus" || len(p.Targets) == 0 {
					t.Errorf("%s: needs the prometheus data source and a query", where)
				}
				var refs []string
				for _, q := range p.Targets {
					if slices.Contains(refs, q.RefID) {
						t.Errorf("%s: duplicate refId %s", where, q.RefID)
					}
					refs = append(refs, q.RefID)
					if err := checkPromQL(q.Expr); err != nil {
						t.Errorf("%s: %s: %v", where, q.Expr, err)
					}
					for _, m := range metricNames(q.Expr) {
						seen[strings.TrimSuffix(m, "_bucket")] = true
					}
				}
			}
		}
		walk(d.Panels)
	}
	// The overview shows every metric of the contract.
	for name := range contractMetrics {
		if !seen[name] {
			t.Errorf("no dashboard panel shows %s", name)
		}
	}
}
