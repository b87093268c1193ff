package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/auditor"
)

func flagLine(f auditor.Flag) string {
	s := fmt.Sprintf("%s  %-14s %-8s %-12s %s  subject %s  evidence %v", f.ID, f.Rule, f.Severity, f.Status, f.CreatedAt.UTC().Format(time.RFC3339), f.Subject, f.Evidence)
	if f.Resolution != "" {
		s += "  " + f.Resolution
	}
	if f.Escalation != "" {
		s += "  escalated to " + f.Escalation
	}
	return s + "\n    " + f.Detail
}

func newAuditor() *cobra.Command {
	t := &tokenFlags{}
	c := &cobra.Command{Use: "auditor", Short: "The auditor's flags (wash trading, sybil funnels, rating rings, bursts, outsized transfers) and rules (admin)"}
	pf := c.PersistentFlags()
	pf.StringVar(&t.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&t.credential, "credential", "", "an admin's avreg_ API key (env SOVEREIGN_API_KEY)")
	pf.BoolVar(&t.asJSON, "json", false, "print JSON")

	var status, rule, subject, cursor string
	var limit int
	flags := &cobra.Command{
		Use: "flags [id]", Short: "List the flags, newest first, or show one", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				var f auditor.Flag
				if err := cl.do("GET", "/api/v1/auditor/flags/"+url.PathEscape(args[0]), nil, nil, &f); err != nil {
					return err
				}
				t.print(cmd, f, flagLine(f))
				return nil
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"status": status, "rule": rule, "subject": subject, "cursor": cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var page struct {
				Items      []auditor.Flag `json:"items"`
				NextCursor string         `json:"next_cursor,omitempty"`
			}
			if err := cl.do("GET", "/api/v1/auditor/flags?"+q.Encode(), nil, nil, &page); err != nil {
				return err
			}
			if t.asJSON {
				t.print(cmd, page, "")
				return nil
			}
			w := cmd.OutOrStdout()
			for _, f := range page.Items {
				fmt.Fprintln(w, flagLine(f))
			}
			if len(page.Items) == 0 {
				fmt.Fprintln(w, "(no flags)")
			}
			if page.NextCursor != "" {
				fmt.Fprintln(w, "(more: --cursor "+page.NextCursor+")")
			}
			return nil
		},
	}
	flags.Flags().StringVar(&status, "status", "", "only NEW, ACKNOWLEDGED, RESOLVED or ESCALATED flags")
	flags.Flags().StringVar(&rule, "rule", "", "only flags of this rule")
	flags.Flags().StringVar(&subject, "subject", "", "only flags about this agent")
	flags.Flags().IntVar(&limit, "limit", 50, "how many (1–500)")
	flags.Flags().StringVar(&cursor, "cursor", "", "continue after a previous page")

	var note string
	review := func(use, short, path string, args int, body func([]string) map[string]any) *cobra.Command {
		cmd := &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(args),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, err := t.client()
				if err != nil {
					return err
				}
				b := body(args)
				if note != "" {
					b["note"] = note
				}
				var f auditor.Flag
				if err := cl.do("POST", "/api/v1/auditor/flags/"+url.PathEscape(args[0])+"/"+path, nil, b, &f); err != nil {
					return err
				}
				t.print(cmd, f, flagLine(f))
				return nil
			},
		}
		cmd.Flags().StringVar(&note, "note", "", "a note on the review (at most 1000 bytes)")
		return cmd
	}
	ack := review("ack <id>", "Acknowledge a NEW flag: you are looking into it", "acknowledge", 1, func([]string) map[string]any { return map[string]any{} })
	resolve := review("resolve <id> confirmed|dismissed", "Resolve a flag: confirmed (it counts against the implicated agents' reputation) or dismissed",
		"resolve", 2, func(a []string) map[string]any { return map[string]any{"resolution": a[1]} })
	escalate := review("escalate <id> suspension|dispute", "Escalate a flag: suspend its subject (requests and wallet stop), or file a dispute",
		"escalate", 2, func(a []string) map[string]any { return map[string]any{"to": a[1]} })

	var enable, disable, set []string
	rules := &cobra.Command{
		Use:   "rules",
		Short: "Show the rules' thresholds and the consumer's position; change them with --enable, --disable, --set",
		Long: `rules prints every rule (enabled or not), its thresholds and where the auditor's consumer is in
the ledger's log. --enable RULE and --disable RULE switch rules; --set name=value changes a
threshold (the names are those printed; durations in seconds), e.g.
  sovereign auditor rules --set velocity_count=200 --set circular_window=1800 --disable RATING_RING`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			var view struct {
				Rules    []string        `json:"rules"`
				Params   map[string]any  `json:"params"`
				Consumer json.RawMessage `json:"consumer"`
			}
			if err := cl.do("GET", "/api/v1/auditor/rules", nil, nil, &view); err != nil {
				return err
			}
			if len(enable)+len(disable)+len(set) > 0 {
				en, _ := view.Params["enabled"].(map[string]any)
				if en == nil {
					en = map[string]any{}
				}
				for _, r := range enable {
					en[strings.ToUpper(r)] = true
				}
				for _, r := range disable {
					en[strings.ToUpper(r)] = false
				}
				view.Params["enabled"] = en
				for _, kv := range set {
					k, v, ok := strings.Cut(kv, "=")
					if _, known := view.Params[k]; !ok || !known || k == "enabled" {
						return fmt.Errorf("--set %q: want name=number with a name of the thresholds printed by 'sovereign auditor rules'", kv)
					}
					n, err := strconv.ParseFloat(v, 64)
					if err != nil {
						return fmt.Errorf("--set %s: %q is not a number", k, v)
					}
					view.Params[k] = n
				}
				if err := cl.do("PUT", "/api/v1/auditor/rules", nil, view.Params, &view); err != nil {
					return err
				}
			}
			if t.asJSON {
				t.print(cmd, view, "")
				return nil
			}
			w := cmd.OutOrStdout()
			en, _ := view.Params["enabled"].(map[string]any)
			for _, r := range view.Rules {
				state := "enabled"
				if on, ok := en[r].(bool); ok && !on {
					state = "disabled"
				}
				fmt.Fprintf(w, "%-15s %s\n", r, state)
			}
			keys := make([]string, 0, len(view.Params))
			for k := range view.Params {
				if k != "enabled" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "  %-18s %v\n", k, view.Params[k])
			}
			fmt.Fprintf(w, "consumer %s\n", view.Consumer)
			return nil
		},
	}
	rules.Flags().StringArrayVar(&enable, "enable", nil, "enable a rule (repeatable)")
	rules.Flags().StringArrayVar(&disable, "disable", nil, "disable a rule (repeatable)")
	rules.Flags().StringArrayVar(&set, "set", nil, "set a threshold, name=value (repeatable; durations in seconds)")
	c.AddCommand(flags, ack, resolve, escalate, rules)
	return c
}
