package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sovereign-stack/sovereign/config"
)

// decodeYAMLStrict decodes one YAML document into v, refusing keys v has no field for.
func decodeYAMLStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// decodeJSONStrict decodes one JSON document into v, refusing fields v does not have and
// anything after the document.
func decodeJSONStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON document")
	}
	return nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sovereignEnv is every environment variable the sovereign binary reads: its configuration's
// SOVEREIGN_* names, and the OpenTelemetry SDK's standard variables for the trace exporter.
func sovereignEnv() map[string]bool {
	names := map[string]bool{}
	for _, n := range config.EnvNames() {
		names[n] = true
	}
	for _, n := range []string{"SOVEREIGN_CONFIG", "SPIFFE_ENDPOINT_SOCKET",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"} {
		names[n] = true
	}
	return names
}

// checkSovereignEnv reports the variables of env the sovereign binary does not read.
func checkSovereignEnv(t *testing.T, where string, env []string) {
	t.Helper()
	known := sovereignEnv()
	for _, name := range env {
		if !known[name] {
			t.Errorf("%s: environment variable %s is not one sovereign reads (config.EnvNames or the OpenTelemetry SDK's)", where, name)
		}
	}
}

// sovereignCommands are the server commands a deployment may run the image with.
var sovereignCommands = [][]string{{"registry", "serve"}, {"teg", "serve"}, {"up"}}

func isSovereignCommand(args []string) bool {
	return slices.ContainsFunc(sovereignCommands, func(c []string) bool { return slices.Equal(c, args) })
}

// headingAnchors returns the GitHub anchors of the Markdown headings of doc.
func headingAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	inFence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(title), ""), " ", "-")
		anchors[slug] = true
	}
	return anchors
}

func operationsAnchors(t *testing.T) map[string]bool {
	t.Helper()
	return headingAnchors(string(readFile(t, filepath.Join("..", "docs", "OPERATIONS.md"))))
}

// checkRunbook checks that link is docs/OPERATIONS.md#anchor with a heading of that anchor.
func checkRunbook(t *testing.T, where, link string, anchors map[string]bool) {
	t.Helper()
	file, anchor, ok := strings.Cut(link, "#")
	if !ok || file != "docs/OPERATIONS.md" || anchor == "" {
		t.Errorf("%s: runbook %q is not docs/OPERATIONS.md#SECTION", where, link)
		return
	}
	if !anchors[anchor] {
		t.Errorf("%s: runbook %q: docs/OPERATIONS.md has no heading with anchor %q", where, link, anchor)
	}
}
