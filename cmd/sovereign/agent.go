package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/cardtemplate"
	"github.com/sovereign-stack/sovereign/registry/registryhttp"
	"github.com/sovereign-stack/sovereign/tracing"
)

// registryTimeout bounds each call to a registry made by `agent new --registry`.
const registryTimeout = 30 * time.Second

func newAgent() *cobra.Command {
	c := &cobra.Command{Use: "agent", Short: "Create, register and run A2A agents"}
	c.AddCommand(newAgentNew(), newAgentServe(), newAgentRegister(), newAgentHeartbeat(), newAgentRotate(),
		newAgentList(), newAgentShow(), newAgentBalance(), newAgentCard(),
		newAgentStatus("suspend", "suspended", "Suspend one of your agents: its credentials and wallet stop until reactivated"),
		newAgentStatus("reactivate", "active", "Lift a suspension you placed"),
		withAliases(newAgentStatus("revoke", "revoked", "Revoke one of your agents for good (its card leaves discovery; final; alias: delete)"), "delete"))
	return c
}

func newAgentNew() *cobra.Command {
	var (
		tmpl, module, registryURL, sdk string
		params                         []string
	)
	c := &cobra.Command{
		Use:   "new --template NAME [--param key=value ...] [--module PATH] [--registry URL] DIR",
		Short: "Write a runnable Go agent project from a template",
		Long: "Write a runnable Go agent project (go.mod, main.go, agent.go, agent-card.json, README.md) to DIR,\n" +
			"which must not exist or be empty. Built-in templates (" + strings.Join(builtinNames(), ", ") + ") work offline;\n" +
			"with --registry the template is fetched from that registry and rendered there.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tmpl == "" {
				return errors.New("--template is required (built-ins: " + strings.Join(builtinNames(), ", ") + ")")
			}
			dir := args[0]
			t, card, values, err := renderForProject(cmd.Context(), tmpl, registryURL, params)
			if err != nil {
				return err
			}
			opts, err := sdkOptions(sdk)
			if err != nil {
				return err
			}
			opts.Module, opts.Values = module, values
			if err := cardtemplate.WriteProject(dir, t, card, opts); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %s (template %s, %s agent on the Sovereign SDK): go.mod main.go main_test.go agent.go agent-card.json README.md .gitignore\n", dir, t.Name, t.Kind)
			if opts.SDKDir != "" {
				fmt.Fprintf(out, "the SDK is the copy at %s (a replace directive in go.mod)\n", opts.SDKDir)
				fmt.Fprintf(out, "run it:\n  cd %s && go run .\n", shellQuote(dir))
			} else {
				fmt.Fprintf(out, "run it:\n  cd %s && go mod tidy && go run .\n", shellQuote(dir))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&tmpl, "template", "", "template name")
	f.StringArrayVar(&params, "param", nil, "parameter value key=value (repeatable; lists comma-separated)")
	f.StringVar(&module, "module", "", `module path of the project's go.mod (default "example.com/" + the directory's name)`)
	f.StringVar(&registryURL, "registry", "", "base URL of a registry to fetch the template from (default: built-ins, offline)")
	f.StringVar(&sdk, "sdk", "", "a local copy of the Sovereign module for the project's go.mod to use (default: this release's version, or the checkout the command runs in)")
	return c
}

// sdkOptions says where a generated project finds the Sovereign SDK: the directory dir (--sdk)
// when given; else this binary's release version; else the checkout of the Sovereign module
// that holds the working directory (a development build run from its source). It fails when
// none applies: a project that cannot build is worse than a clear message.
func sdkOptions(dir string) (cardtemplate.ProjectOptions, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err == nil && !isSDKDir(abs) {
			err = fmt.Errorf("%s is not a copy of the %s module (its go.mod says otherwise)", dir, cardtemplate.SDKModule)
		}
		if err != nil {
			return cardtemplate.ProjectOptions{}, fmt.Errorf("--sdk: %w", err)
		}
		return cardtemplate.ProjectOptions{SDKDir: abs}, nil
	}
	if releaseVersion.MatchString(buildinfo.Version) {
		return cardtemplate.ProjectOptions{SDKVersion: buildinfo.Version}, nil
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isSDKDir(d) {
				return cardtemplate.ProjectOptions{SDKDir: d}, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return cardtemplate.ProjectOptions{}, fmt.Errorf("this is a development build (version %s) and the working directory is not in a checkout of %s: "+
		"pass --sdk DIR, a checkout of it, for the project's go.mod to use", buildinfo.Version, cardtemplate.SDKModule)
}

// releaseVersion matches the version of a released binary (v1.2.3, v1.2.3-rc.1).
var releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// isSDKDir reports whether dir holds the Sovereign module's go.mod.
func isSDKDir(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(first) == "module "+cardtemplate.SDKModule
}

func builtinNames() []string {
	var names []string
	for _, b := range cardtemplate.Builtins() {
		names = append(names, b.Name)
	}
	return names
}

// renderForProject finds the template (built-in, or from the registry), parses the --param
// values by the template's parameter types, and renders the card (locally, or by the registry).
func renderForProject(ctx context.Context, name, registryURL string, params []string) (cardtemplate.Template, []byte, map[string]any, error) {
	var t cardtemplate.Template
	if registryURL == "" {
		b, ok := cardtemplate.Builtin(name)
		if !ok {
			return t, nil, nil, fmt.Errorf("no built-in template %q (built-ins: %s); use --registry URL for stored templates",
				name, strings.Join(builtinNames(), ", "))
		}
		t = b
	} else {
		var view registryhttp.TemplateView
		if err := callRegistry(ctx, http.MethodGet, registryURL, "/api/v1/templates/"+url.PathEscape(name), nil, &view); err != nil {
			return t, nil, nil, err
		}
		t = view.Template()
	}
	values := map[string]any{}
	for _, kv := range params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return t, nil, nil, fmt.Errorf("--param %q: want key=value", kv)
		}
		p, ok := t.Param(k)
		if !ok {
			return t, nil, nil, cardtemplate.ErrUnknownParameter.With("field", k).With("parameter", k)
		}
		val, err := cardtemplate.ParseValue(p, v)
		if err != nil {
			return t, nil, nil, err
		}
		values[k] = val
	}
	resolved, err := cardtemplate.Resolve(t, values)
	if err != nil {
		return t, nil, nil, err
	}
	if registryURL == "" {
		card, err := cardtemplate.Render(t, values)
		return t, card, resolved, err
	}
	var out struct {
		Card json.RawMessage `json:"card"`
	}
	body, err := json.Marshal(map[string]any{"parameters": values})
	if err != nil {
		return t, nil, nil, err
	}
	if err := callRegistry(ctx, http.MethodPost, registryURL, "/api/v1/templates/"+url.PathEscape(name)+"/render", body, &out); err != nil {
		return t, nil, nil, err
	}
	return t, out.Card, resolved, nil
}

// callRegistry makes one JSON call to the registry at base and decodes a 2xx answer into out;
// an error envelope becomes an error naming its code.
func callRegistry(ctx context.Context, method, base, path string, body []byte, out any) error {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--registry %q is not an http(s) URL", base)
	}
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tracing.Client(0).Do(req)
	if err != nil {
		return unreachable(u.String(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var env struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
			env.Error.Status = resp.StatusCode
			return &env.Error
		}
		return notSovereign(u.String(), method, path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("registry: %s %s: the answer is not what a Sovereign registry sends: %w", method, path, err)
	}
	return nil
}

// shellQuote quotes dir for a POSIX shell when it needs it.
func shellQuote(dir string) string {
	if dir != "" && strings.IndexFunc(dir, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r))
	}) < 0 {
		return dir
	}
	return "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
}

// withAliases gives c other names (an agent is deleted by revoking it: its identity, card and
// wallet are closed for good, and its history stays in the ledger's log).
func withAliases(c *cobra.Command, names ...string) *cobra.Command {
	c.Aliases = append(c.Aliases, names...)
	return c
}
