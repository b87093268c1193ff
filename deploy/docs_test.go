package deploy

import (
	"strings"
	"testing"
)

// TestOperationsDoc_HasItsSections keeps the sections docs/OPERATIONS.md promises, including
// the ones other parts of the operations work fill in.
func TestOperationsDoc_HasItsSections(t *testing.T) {
	anchors := operationsAnchors(t)
	for _, a := range []string{"deploy", "deploy-with-compose", "deploy-on-kubernetes", "scale", "rotate", "upgrade",
		"backups-and-restore", "tls", "alert-playbooks"} {
		if !anchors[a] {
			t.Errorf("docs/OPERATIONS.md has no section #%s", a)
		}
	}
	for name := range loadRules(t) {
		if !anchors[strings.ToLower(name)] {
			t.Errorf("alert %s has no playbook heading in docs/OPERATIONS.md", name)
		}
	}
}
