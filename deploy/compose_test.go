package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// composeFile is the part of the Compose specification deploy/compose/compose.yaml uses;
// anything else in the file is refused.
type composeFile struct {
	Name     string                     `yaml:"name"`
	XImage   composeBuildRef            `yaml:"x-sovereign-image"`
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]*struct{}       `yaml:"volumes"`
}

type composeBuildRef struct {
	Image string       `yaml:"image"`
	Build composeBuild `yaml:"build"`
}

type composeBuild struct {
	Context          string `yaml:"context"`
	Dockerfile       string `yaml:"dockerfile"`
	DockerfileInline string `yaml:"dockerfile_inline"`
}

type composeService struct {
	Image       string                       `yaml:"image"`
	Build       *composeBuild                `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Entrypoint  []string                     `yaml:"entrypoint"`
	Environment map[string]string            `yaml:"environment"`
	Ports       []string                     `yaml:"ports"`
	Volumes     []string                     `yaml:"volumes"`
	DependsOn   map[string]composeDependency `yaml:"depends_on"`
	Healthcheck *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	Networks map[string]struct {
		Aliases []string `yaml:"aliases"`
	} `yaml:"networks"`
	PID     string `yaml:"pid"`
	User    string `yaml:"user"`
	Restart string `yaml:"restart"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := decodeYAMLStrict(readFile(t, filepath.Join("compose", "compose.yaml")), &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

func TestCompose_ParsesStrictlyAndResolves(t *testing.T) {
	c := loadCompose(t)
	for _, want := range []string{"postgres-primary", "postgres-replica", "redis", "spire-server", "spire-agent",
		"opa-bundle", "registry-a", "registry-b", "teg-1", "teg-2", "prometheus", "grafana", "jaeger"} {
		if c.Services[want] == nil {
			t.Errorf("no service %s", want)
		}
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", name)
		}
		if s.Build != nil && s.Build.Context != "" {
			if _, err := os.Stat(filepath.Join("compose", s.Build.Context)); err != nil {
				t.Errorf("%s: build context: %v", name, err)
			}
		}
		for dep, d := range s.DependsOn {
			if c.Services[dep] == nil {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
			switch d.Condition {
			case "service_started", "service_healthy", "service_completed_successfully":
			default:
				t.Errorf("%s: depends_on %s: condition %q", name, dep, d.Condition)
			}
			if d.Condition == "service_healthy" && c.Services[dep] != nil && c.Services[dep].Healthcheck == nil {
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, ok := strings.Cut(v, ":")
			if !ok {
				t.Errorf("%s: volume %q is not SOURCE:TARGET", name, v)
				continue
			}
			switch {
			case strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../"):
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("%s: bind mount: %v", name, err)
				}
			case strings.HasPrefix(src, "/"): // a host path (the Docker socket)
			default:
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: volume %q is not declared", name, src)
				}
			}
		}
	}
}

func TestCompose_SovereignServicesUseRealCommandsAndSettings(t *testing.T) {
	c := loadCompose(t)
	if c.XImage.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("the sovereign image is built from %q", c.XImage.Build.Dockerfile)
	}
	if _, err := os.Stat(filepath.Join("compose", c.XImage.Build.Context, c.XImage.Build.Dockerfile)); err != nil {
		t.Errorf("the sovereign image's Dockerfile: %v", err)
	}
	trustDomains := map[string]bool{}
	tegs := 0
	for name, s := range c.Services {
		if s.Image != c.XImage.Image {
			continue
		}
		if !isSovereignCommand(s.Command) {
			t.Errorf("%s: command %v is not a sovereign server command %v", name, s.Command, sovereignCommands)
		}
		var env []string
		for k := range s.Environment {
			env = append(env, k)
		}
		checkSovereignEnv(t, name, env)
		if s.Environment["SOVEREIGN_METRICS_ADDR"] == "" || !strings.HasPrefix(s.Environment["SOVEREIGN_STORE"], "postgres://") {
			t.Errorf("%s: needs a metrics listener and a PostgreSQL store", name)
		}
		if r := s.Environment["SOVEREIGN_STORE_REPLICA"]; !strings.Contains(r, "@postgres-replica:") || s.DependsOn["postgres-replica"].Condition == "" {
			t.Errorf("%s: reads should go to the postgres-replica service (SOVEREIGN_STORE_REPLICA %q)", name, r)
		}
		switch s.Command[0] {
		case "teg":
			tegs++
			if s.Environment["SOVEREIGN_MTLS_ADDR"] == "" {
				t.Errorf("%s: teg serve needs SOVEREIGN_MTLS_ADDR", name)
			}
		case "registry", "up":
			trustDomains[s.Environment["SOVEREIGN_TRUST_DOMAIN"]] = true
		}
		if s.Command[0] == "registry" && s.Environment["SOVEREIGN_TEG_URL"] == "" {
			t.Errorf("%s: registry serve needs SOVEREIGN_TEG_URL", name)
		}
	}
	if tegs != 2 || len(trustDomains) != 2 {
		t.Errorf("%d TEG replicas and registries in %d trust domains, want 2 and 2", tegs, len(trustDomains))
	}
}

// prometheusConfig is the part of Prometheus' configuration deploy/prometheus/prometheus.yml uses.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string            `yaml:"scrape_interval"`
		EvaluationInterval string            `yaml:"evaluation_interval"`
		ExternalLabels     map[string]string `yaml:"external_labels"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func TestPrometheusConfig_ScrapesTheComposeServices(t *testing.T) {
	var p prometheusConfig
	if err := decodeYAMLStrict(readFile(t, filepath.Join("prometheus", "prometheus.yml")), &p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.RuleFiles, []string{"/etc/prometheus/alerts.yml"}) {
		t.Errorf("rule_files %v", p.RuleFiles)
	}
	c := loadCompose(t)
	mounted := strings.Join(c.Services["prometheus"].Volumes, " ")
	if !strings.Contains(mounted, "../prometheus/alerts.yml:/etc/prometheus/alerts.yml") {
		t.Error("the prometheus service does not mount alerts.yml where rule_files says")
	}
	scraped := map[string]bool{}
	for _, sc := range p.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, _ := strings.Cut(target, ":")
				if host == "localhost" {
					continue
				}
				s := c.Services[host]
				if s == nil {
					t.Errorf("job %s: target %s is no compose service", sc.JobName, target)
					continue
				}
				if !strings.HasSuffix(s.Environment["SOVEREIGN_METRICS_ADDR"], ":"+port) {
					t.Errorf("job %s: target %s, but the service's metrics listener is %q", sc.JobName, target, s.Environment["SOVEREIGN_METRICS_ADDR"])
				}
				scraped[host] = true
			}
		}
	}
	for name, s := range c.Services {
		if s.Image == c.XImage.Image && !scraped[name] {
			t.Errorf("%s is not scraped", name)
		}
	}
}
