package deploy

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// hclSetting returns the string value of `key = "value"` in a SPIRE configuration.
func hclSetting(conf, key string) string {
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + `\s*=\s*"([^"]*)"`).FindStringSubmatch(conf)
	if m == nil {
		return ""
	}
	return m[1]
}

// minSVIDTTL is the shortest SVID lifetime with which CertificateExpiringSoon (2 h) stays
// quiet on a healthy service rotating at half-life.
const minSVIDTTL = 4 * time.Hour

// checkSpireServerConf checks the settings of a SPIRE server configuration the stack relies on.
func checkSpireServerConf(t *testing.T, where, conf, trustDomain string) {
	t.Helper()
	if got := hclSetting(conf, "trust_domain"); got != trustDomain {
		t.Errorf("%s: trust_domain %q, want %q", where, got, trustDomain)
	}
	ttl, err := time.ParseDuration(hclSetting(conf, "default_x509_svid_ttl"))
	if err != nil || ttl <= minSVIDTTL {
		t.Errorf("%s: default_x509_svid_ttl %v must be above %v, or CertificateExpiringSoon fires on healthy services", where, ttl, minSVIDTTL)
	}
	if !strings.Contains(conf, `DataStore "sql"`) || hclSetting(conf, "database_type") != "postgres" {
		t.Errorf("%s: the datastore must be PostgreSQL (shared by HA servers)", where)
	}
}

func TestSpire_ComposeConfigsMatchTheServices(t *testing.T) {
	c := loadCompose(t)
	server := string(readFile(t, filepath.Join("compose", "spire", "server.conf")))
	agent := string(readFile(t, filepath.Join("compose", "spire", "agent.conf.in")))
	env := c.Services["registry-a"].Environment
	checkSpireServerConf(t, "compose server.conf", server, env["SOVEREIGN_TRUST_DOMAIN"])
	if got := hclSetting(agent, "trust_domain"); got != env["SOVEREIGN_TRUST_DOMAIN"] {
		t.Errorf("compose agent.conf.in: trust_domain %q", got)
	}
	if got, want := "unix://"+hclSetting(agent, "socket_path"), env["SOVEREIGN_SPIRE_WORKLOAD_SOCKET"]; got != want {
		t.Errorf("the agent serves the Workload API at %s, the services look at %s", got, want)
	}
	if got, want := hclSetting(server, "socket_path"), env["SOVEREIGN_SPIRE_SERVER_SOCKET"]; got != want {
		t.Errorf("the server's socket is %s, the services look at %s", got, want)
	}
	bootstrap := string(readFile(t, filepath.Join("compose", "spire", "bootstrap.sh")))
	for _, svc := range []string{"registry-a", "teg-1", "teg-2"} {
		if !strings.Contains(bootstrap, " "+svc+"\n") {
			t.Errorf("bootstrap.sh registers no entry for %s", svc)
		}
	}
	if !strings.Contains(bootstrap, "registry/"+env["SOVEREIGN_REGISTRY_NAME"]) {
		t.Errorf("bootstrap.sh registers no spiffe://TD/registry/%s", env["SOVEREIGN_REGISTRY_NAME"])
	}
}

func TestSpire_KubernetesConfigsMatchTheServices(t *testing.T) {
	m := loadManifests(t)
	shared := m.configMaps["sovereign-config"].Data
	td := shared["SOVEREIGN_TRUST_DOMAIN"]
	server := m.configMaps["spire-server"].Data["server.conf"]
	agent := m.configMaps["spire-agent"].Data["agent.conf"]
	checkSpireServerConf(t, "ConfigMap spire-server", server, td)
	if got := hclSetting(agent, "trust_domain"); got != td {
		t.Errorf("ConfigMap spire-agent: trust_domain %q, want %q", got, td)
	}
	if got, want := "unix://"+hclSetting(agent, "socket_path"), shared["SOVEREIGN_SPIRE_WORKLOAD_SOCKET"]; got != want {
		t.Errorf("the agent serves the Workload API at %s, the services look at %s", got, want)
	}
	for _, id := range []string{"spiffe://" + td + "/registry/main", "spiffe://" + td + "/teg"} {
		if !strings.Contains(server, `"`+id+`"`) {
			t.Errorf("ConfigMap spire-server: admin_ids lacks %s (its Server API sidecar would be refused)", id)
		}
	}
	for _, w := range m.workloads {
		for _, ctr := range w.pod.Spec.InitContainers {
			for _, a := range ctr.Args {
				if v, ok := strings.CutPrefix(a, "--verify-uri="); ok && v != "spiffe://"+td+"/spire/server" {
					t.Errorf("%s %s: sidecar verifies %s, not the SPIRE server of %s", w.kind, w.name, v, td)
				}
				if v, ok := strings.CutPrefix(a, "--listen=unix:"); ok && v != shared["SOVEREIGN_SPIRE_SERVER_SOCKET"] {
					t.Errorf("%s %s: sidecar listens on %s, the service looks at %s", w.kind, w.name, v, shared["SOVEREIGN_SPIRE_SERVER_SOCKET"])
				}
			}
		}
	}
}
