package deploy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/sovereign-stack/sovereign/config"
)

// checkConfigLoads runs environ through the configuration's own loading and validation, as
// the server does at start: a value that would stop the process fails here.
func checkConfigLoads(t *testing.T, where string, environ []string) {
	t.Helper()
	c := config.Default()
	if err := c.LoadEnv(environ); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if err := c.Finish(); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

func TestCompose_SovereignEnvironmentsAreValidConfigurations(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Image != c.XImage.Image {
			continue
		}
		var environ []string
		for k, v := range s.Environment {
			environ = append(environ, k+"="+v)
		}
		checkConfigLoads(t, name, environ)
	}
}

// secretPlaceholders stand for the values of the Secrets the manifests reference.
var secretPlaceholders = map[string]string{
	"sovereign-registry-db/dsn":         "postgres://sovereign:secret@postgres:5432/registry",
	"sovereign-teg-db/dsn":              "postgres://sovereign:secret@postgres:5432/teg",
	"sovereign-registry-db/replica-dsn": "postgres://sovereign:secret@postgres-standby:5432/registry",
	"sovereign-teg-db/replica-dsn":      "postgres://sovereign:secret@postgres-standby:5432/teg",
	"sovereign-metrics/token":           "0123456789abcdef0123456789abcdef",
}

func TestKubernetes_SovereignEnvironmentsAreValidConfigurations(t *testing.T) {
	m := loadManifests(t)
	for _, w := range m.workloads {
		for _, ctr := range w.pod.Spec.Containers {
			if ctr.Image != "sovereign" {
				continue
			}
			var environ []string
			for _, from := range ctr.EnvFrom {
				if from.ConfigMapRef != nil {
					for k, v := range m.configMaps[from.ConfigMapRef.Name].Data {
						environ = append(environ, k+"="+v)
					}
				}
			}
			for _, e := range ctr.Env {
				environ = append(environ, e.Name+"="+envValue(t, w.name, e))
			}
			checkConfigLoads(t, w.kind+" "+w.name, environ)
		}
	}
}

func envValue(t *testing.T, where string, e corev1.EnvVar) string {
	t.Helper()
	if e.ValueFrom == nil {
		return e.Value
	}
	if ref := e.ValueFrom.SecretKeyRef; ref != nil {
		v, ok := secretPlaceholders[ref.Name+"/"+ref.Key]
		if !ok {
			t.Errorf("%s: %s comes from Secret %s key %s, which docs/OPERATIONS.md does not create", where, e.Name, ref.Name, ref.Key)
		}
		return v
	}
	t.Errorf("%s: %s: only values and Secret references are expected", where, e.Name)
	return ""
}
