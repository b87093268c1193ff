package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/policy"
)

func newPolicy() *cobra.Command {
	c := &cobra.Command{Use: "policy", Short: "Test and evaluate the authorization policies (Rego)"}
	c.AddCommand(newPolicyTest(), newPolicyEval())
	return c
}

func newPolicyTest() *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the Rego unit tests (*_test.rego) of DIR, or of the built-in policies",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			rep, err := policy.RunTests(cmd.Context(), dir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, r := range rep.Results {
				name := strings.TrimPrefix(r.Package, "data.") + "." + r.Name
				switch {
				case r.Skip:
					if verbose {
						fmt.Fprintf(out, "SKIP %s\n", name)
					}
				case !r.Pass:
					fmt.Fprintf(out, "FAIL %s (%s)\n", name, r.Location)
					for _, detail := range []string{r.FailedAt, r.Error, strings.TrimSpace(r.Output)} {
						if detail != "" {
							fmt.Fprintf(out, "     %s\n", strings.ReplaceAll(detail, "\n", "\n     "))
						}
					}
				case verbose:
					fmt.Fprintf(out, "PASS %s (%s)\n", name, r.Duration)
				}
			}
			total := rep.Passed + rep.Failed
			if rep.Failed > 0 {
				fmt.Fprintf(out, "FAIL: %d/%d failed, %d passed", rep.Failed, total, rep.Passed)
			} else {
				fmt.Fprintf(out, "PASS: %d/%d passed", rep.Passed, total)
			}
			if rep.Skips > 0 {
				fmt.Fprintf(out, ", %d skipped", rep.Skips)
			}
			fmt.Fprintln(out)
			if rep.Failed > 0 {
				return fmt.Errorf("%d of %d policy tests failed", rep.Failed, total)
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test, not only failures")
	return c
}

func newPolicyEval() *cobra.Command {
	var input, dir, query string
	c := &cobra.Command{
		Use:   "eval --input FILE",
		Short: "Print the decision for one input (JSON: subject, action, resource, context)",
		Long: "Decides the input in FILE (\"-\" for standard input) as a service would, with the\n" +
			"built-in policies or those of --dir, and prints the decision as JSON.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := readPolicyInput(cmd.InOrStdin(), input)
			if err != nil {
				return err
			}
			opts := []policy.Option{policy.WithDecisionCache(0),
				policy.WithLogger(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelError})))}
			if dir != "" {
				opts = append(opts, policy.WithDir(dir))
			}
			e, err := policy.NewWithOptions(opts...)
			if err != nil {
				return err
			}
			defer e.Close()
			d, err := e.Decide(cmd.Context(), query, in)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				policy.Decision
				Revision string `json:"revision"`
			}{d, e.Revision()})
		},
	}
	c.Flags().StringVar(&input, "input", "", `JSON file with the input ("-" for standard input)`)
	c.Flags().StringVar(&dir, "dir", "", "policy directory (default: the built-in policies)")
	c.Flags().StringVar(&query, "query", policy.QueryAllow, "decision to ask for")
	_ = c.MarkFlagRequired("input")
	return c
}

// readPolicyInput decodes an input strictly: a misspelt field would otherwise be dropped and
// the decision made on less than the file says.
func readPolicyInput(stdin io.Reader, name string) (policy.Input, error) {
	var in policy.Input
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return in, err
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("input %s: %w", name, err)
	}
	if dec.More() {
		return in, errors.New("input " + name + ": more than one JSON value")
	}
	return in, nil
}
