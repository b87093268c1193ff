package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/tracing"
)

// newTegParams is `sovereign teg params show|set`: the economy's versioned parameter set.
func newTegParams() *cobra.Command {
	t := &tokenFlags{}
	c := &cobra.Command{Use: "params", Short: "Show or change the economy's parameter set (fees, tiers, staking)",
		Long: `params shows the parameter set in force (fees, tier limits, the supply bound, staking) and changes
it. Every change is a new version, recorded as an event of the ledger's log; 'GET
/api/v1/teg/params/history' lists the earlier versions.`}
	pf := c.PersistentFlags()
	pf.StringVar(&t.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&t.credential, "credential", "", "an admin's avreg_ API key or access token, for set (env SOVEREIGN_TOKEN, SOVEREIGN_API_KEY)")
	pf.BoolVar(&t.asJSON, "json", false, "print JSON")

	get := func() (map[string]any, error) {
		api := &apiClient{base: t.registry, http: tracing.Client(30 * time.Second)}
		var p map[string]any
		if err := api.do(http.MethodGet, "/api/v1/teg/params", nil, nil, &p); err != nil {
			return nil, cliError(err)
		}
		return p, nil
	}
	show := &cobra.Command{
		Use: "show", Short: "Show the parameter set in force", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := get()
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(p, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	var message string
	set := &cobra.Command{
		Use:   "set KEY=VALUE...",
		Short: "Change parameters (admin): each KEY a dotted path of the set as 'show' prints it",
		Long: `set reads the set in force, changes each KEY (a dotted path of the document 'params show'
prints, e.g. staking.epoch_seconds or fee_rate_bps) to VALUE, and puts the result as the next
version (admin; only until the first governance proposal is made, then parameters change by
proposals: 'sovereign govern'). VALUE takes the type of the value it replaces: amounts are AVT decimal strings
("10.5"). If another change came first, the set is refused with PARAMS_VERSION_CONFLICT: run it
again.

  sovereign teg params set staking.epoch_seconds=60 --message "one-minute epochs for the demo"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := get()
			if err != nil {
				return err
			}
			for _, kv := range args {
				if err := setPath(p, kv); err != nil {
					return err
				}
			}
			p["base_version"] = p["version"]
			if message != "" {
				p["message"] = message
			}
			api, err := t.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := api.do(http.MethodPut, "/api/v1/admin/teg/params", nil, p, &out); err != nil {
				return cliError(err)
			}
			t.print(cmd, out, fmt.Sprintf("parameters version %v in force", out["version"]))
			return nil
		},
	}
	set.Flags().StringVar(&message, "message", "", "why (recorded in the event log)")
	c.AddCommand(show, set)
	return c
}

// setPath sets the value at the dotted path of KEY=VALUE in doc, giving VALUE the type of the
// value it replaces.
func setPath(doc map[string]any, kv string) error {
	key, value, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return fmt.Errorf("%q: want KEY=VALUE, e.g. staking.epoch_seconds=60", kv)
	}
	parts := strings.Split(key, ".")
	m := doc
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: no such section in the parameter set (see 'sovereign teg params show')", key)
		}
		m = next
	}
	last := parts[len(parts)-1]
	old, ok := m[last]
	if !ok {
		return fmt.Errorf("%s: no such parameter (see 'sovereign teg params show')", key)
	}
	switch old.(type) {
	case string:
		m[last] = value
	case float64:
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", key, value)
		}
		m[last] = n
	case bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", key, value)
		}
		m[last] = b
	default:
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			return fmt.Errorf("%s: %q is not JSON", key, value)
		}
		m[last] = v
	}
	return nil
}
