package deploy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkedFiles are the patterns of the deployment files the tests of this package parse; a
// file matching none is one nobody checks.
var checkedFiles = []string{
	"Dockerfile", "Dockerfile.dockerignore", "doc.go",
	"compose/compose.yaml", "compose/nginx/bundle.conf", "compose/postgres/*.sh",
	"compose/spire/bootstrap.sh", "compose/spire/agent.conf.in", "compose/spire/server.conf",
	"k8s/*.yaml", "prometheus/*.yml", "grafana/dashboards/*.json", "grafana/provisioning/*/*.yml",
	"opa/build-bundle.sh",
	"spire/*.conf", // generated and checked by identity/spiretest
}

func TestDeployFiles_EveryFileIsChecked(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, p := range checkedFiles {
			if ok, _ := filepath.Match(p, filepath.ToSlash(path)); ok {
				return nil
			}
		}
		t.Errorf("deploy/%s is checked by no test: parse it, or add it to checkedFiles with the check", path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var dirFS = os.DirFS(".")

// TestDeployFiles_ShellScriptsParse runs sh -n on every script and checks that the ones run
// directly are executable.
func TestDeployFiles_ShellScriptsParse(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	scripts, _ := filepath.Glob(filepath.Join("compose", "*", "*.sh"))
	scripts = append(scripts, filepath.Join("opa", "build-bundle.sh"))
	for _, s := range scripts {
		if b, err := exec.Command(sh, "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, b)
		}
		if fi, err := fs.Stat(dirFS, filepath.ToSlash(s)); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable (the compose stack runs it as an entrypoint or init script)", s)
		}
	}
}
