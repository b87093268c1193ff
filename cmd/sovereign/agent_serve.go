package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/cardtemplate"
)

func newAgentServe() *cobra.Command {
	var (
		tmpl, registryURL, addr, dir, sdk string
		params                            []string
		hb                                agentFlags
	)
	c := &cobra.Command{
		Use:   "serve --template NAME [--param key=value ...] [--addr HOST:PORT] [--dir DIR] [--agent ID]",
		Short: "Run a template's agent",
		Long: `serve runs the agent of a template: it renders the card, writes the same project as
'sovereign agent new' (to --dir, or a temporary directory removed afterwards), builds it with the
go command and runs it until interrupted. The agent listens on the port of its card's URL (set it
with --param url=http://127.0.0.1:9000/a2a) or on --addr, serves its card at
/.well-known/agent-card.json and every binding its card lists (agentvault.Agent). It needs the go
command on the PATH; the generated project is built on the Sovereign SDK (--sdk, or as for 'agent
new'), whose dependencies are in the module cache after one build of it. With --agent ID (an agent
registered with 'sovereign agent register') serve also heartbeats to --agent-registry as that
agent while it runs, so that discovery keeps listing it as active.`,
		Example: `  sovereign agent serve --template echo-agent --param url=http://127.0.0.1:9000/a2a
  sovereign agent serve --template tool-agent --addr 127.0.0.1:9001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tmpl == "" {
				return errors.New("--template is required (built-ins: " + fmt.Sprint(builtinNames()) + ")")
			}
			goTool, err := exec.LookPath("go")
			if err != nil {
				return errors.New("agent serve builds the template's project with the go command, which is not on the PATH")
			}
			ctx := cmd.Context()
			if hb.agent != "" { // before the build: an unknown agent is said at once
				if _, err := storedAgent(ctx, hb.registry, hb.agent); err != nil {
					return err
				}
			}
			t, card, values, err := renderForProject(ctx, tmpl, registryURL, params)
			if err != nil {
				return err
			}
			if dir == "" {
				tmp, err := os.MkdirTemp("", "sovereign-agent-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = filepath.Join(tmp, t.Name)
			}
			opts, err := sdkOptions(sdk)
			if err != nil {
				return err
			}
			opts.Values = values
			if err := cardtemplate.WriteProject(dir, t, card, opts); err != nil {
				return err
			}
			bin := filepath.Join(dir, "agent")
			build := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
			build.Dir = dir
			build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
			if out, err := build.CombinedOutput(); err != nil {
				return fmt.Errorf("building the %s agent: %w\n%s", t.Name, err, out)
			}
			run := exec.CommandContext(ctx, bin)
			run.Dir = dir
			run.Stdout, run.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			run.Env = os.Environ()
			if addr != "" {
				run.Env = append(run.Env, "ADDR="+addr)
			}
			// On interrupt, let the agent shut down gracefully before it is killed.
			run.Cancel = func() error { return run.Process.Signal(syscall.SIGTERM) }
			run.WaitDelay = 10 * time.Second
			if hb.agent != "" {
				stop, err := heartbeatInBackground(ctx, cmd, hb)
				if err != nil {
					return err
				}
				defer stop()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "serving the %s agent (template %s) from %s\n", t.Kind, t.Name, dir)
			err = run.Run()
			if ctx.Err() != nil {
				return nil // interrupted: the agent stopped
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&tmpl, "template", "", "template name")
	f.StringArrayVar(&params, "param", nil, "parameter value key=value (repeatable; lists comma-separated)")
	f.StringVar(&registryURL, "registry", "", "base URL of a registry to fetch the template from (default: built-ins, offline)")
	f.StringVar(&addr, "addr", "", "listen address (default: the port of the card's URL)")
	f.StringVar(&dir, "dir", "", "where to write the project (default: a temporary directory)")
	f.StringVar(&sdk, "sdk", "", "a local copy of the Sovereign module to build the agent with (default: as for 'agent new')")
	f.StringVar(&hb.agent, "agent", "", "heartbeat as this registered agent while the agent runs")
	f.StringVar(&hb.registry, "agent-registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "with --agent, the registry to heartbeat to (env SOVEREIGN_REGISTRY)")
	return c
}

// heartbeatInBackground heartbeats as the stored agent f.agent to f.registry until ctx ends or
// stop is called (an agentvault.Heartbeater following the registry's interval; failures are
// logged to stderr).
func heartbeatInBackground(ctx context.Context, cmd *cobra.Command, f agentFlags) (stop func(), err error) {
	a, err := storedAgent(ctx, f.registry, f.agent)
	if err != nil {
		return nil, err
	}
	ts := a.tokenSource(f.registry)
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	hb := &agentvault.Heartbeater{Registry: agentvault.NewRegistry(f.registry, ts), Credential: ts, AgentID: a.ID,
		Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))}
	go func() { defer close(done); hb.Run(hctx) }()
	fmt.Fprintf(cmd.ErrOrStderr(), "heartbeating to %s as %s\n", f.registry, a.ID)
	return func() { cancel(); <-done }, nil
}
