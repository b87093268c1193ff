package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// discoveredCard is the part of a discovery item the table shows.
type discoveredCard struct {
	ID     string   `json:"id"`
	URN    string   `json:"urn"`
	Name   string   `json:"name"`
	Skills []string `json:"skills"`
	Tags   []string `json:"tags"`
	Status string   `json:"status"`
	Score  *int     `json:"score,omitempty"`
	// OriginRegistry is the trust domain of the registry the card lives in (--federated).
	OriginRegistry string `json:"origin_registry,omitempty"`
	// Reputation is the agent's score and tier (a registry running with the ledger).
	Reputation *struct {
		Score int    `json:"score"`
		Tier  string `json:"tier"`
	} `json:"reputation,omitempty"`
}

func newDiscover() *cobra.Command {
	var (
		registry, credential    string
		tags, skills, caps, sts []string
		limit                   int
		owned, asJSON, all      bool
		federated               bool
		minRep, tier, sortBy    string
	)
	c := &cobra.Command{
		Use:   "discover [QUERY]",
		Short: "Find agent cards in a registry",
		Long: `discover searches a registry's agent cards: QUERY is free text, written as you would ask
("convert euros to dollars"; cards matching enough of its words, misspelled or related words
included, rank by relevance, and with a misspelled word the registry's correction is printed on
standard error), and --tag, --skill, --capability and --status narrow the result (all of them
must hold). It prints a table of name, id, skills, tags and status, or with --json
the API's items as they come. --all follows the pages to the end.`,
		Example: `  sovereign discover weather
  sovereign discover --tag travel --capability streaming
  sovereign discover "code review" --registry https://registry.example.com --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("q", args[0])
			}
			for name, vs := range map[string][]string{"tag": tags, "skill": skills, "capability": caps, "status": sts} {
				for _, v := range vs {
					q.Add(name, v)
				}
			}
			if owned {
				q.Set("owned_only", "true")
			}
			for name, v := range map[string]string{"min_reputation": minRep, "tier": tier, "sort": sortBy} {
				if v != "" {
					q.Set(name, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			if federated {
				q.Set("include_federated", "true")
			}
			if credential == "" {
				credential = os.Getenv("SOVEREIGN_API_KEY")
			}
			if _, err := url.Parse(registry); err != nil {
				return fmt.Errorf("--registry: %w", err)
			}
			api := newRegistryClient(registry, credential)
			var items []json.RawMessage
			for first := true; ; first = false {
				var page struct {
					Items      []json.RawMessage `json:"items"`
					NextCursor string            `json:"next_cursor"`
					DidYouMean string            `json:"did_you_mean"`
					Peers      []struct {
						TrustDomain string `json:"trust_domain"`
						Status      string `json:"status"`
						Results     int    `json:"results"`
						Reason      string `json:"reason"`
						Via         string `json:"via"`
					} `json:"peers"`
				}
				if err := api.do(http.MethodGet, "/api/v1/agent-cards?"+q.Encode(), nil, nil, &page); err != nil {
					return err
				}
				if first && page.DidYouMean != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "did you mean: %s\n", page.DidYouMean)
				}
				for _, p := range page.Peers {
					if p.Via != "" {
						continue
					}
					detail := p.Reason
					if p.Status == "answered" {
						detail = strconv.Itoa(p.Results) + " results"
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "peer %s: %s %s\n", p.TrustDomain, p.Status, detail)
				}
				items = append(items, page.Items...)
				if !all || page.NextCursor == "" {
					break
				}
				q.Set("cursor", page.NextCursor)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if items == nil {
					items = []json.RawMessage{}
				}
				b, _ := json.MarshalIndent(items, "", "  ")
				fmt.Fprintln(out, string(b))
				return nil
			}
			if len(items) == 0 {
				fmt.Fprintln(out, "no agent cards match")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			head := "NAME\tID\tSKILLS\tTAGS\tSTATUS\tREPUTATION"
			if federated {
				head += "\tORIGIN"
			}
			fmt.Fprintln(tw, head)
			for _, raw := range items {
				var c discoveredCard
				if err := json.Unmarshal(raw, &c); err != nil {
					return err
				}
				rep := "-"
				if c.Reputation != nil {
					rep = fmt.Sprintf("%d %s", c.Reputation.Score, c.Reputation.Tier)
				}
				line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", c.Name, c.ID, clip(strings.Join(c.Skills, ","), 40), clip(strings.Join(c.Tags, ","), 40), c.Status, rep)
				if federated {
					line += "\t" + c.OriginRegistry
				}
				fmt.Fprintln(tw, line)
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.StringVar(&registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL (env SOVEREIGN_REGISTRY)")
	f.StringVar(&credential, "credential", "", "API key or token, for --owned (env SOVEREIGN_API_KEY)")
	f.StringArrayVar(&tags, "tag", nil, "only cards with this tag (repeatable)")
	f.StringArrayVar(&skills, "skill", nil, "only cards with this skill id (repeatable)")
	f.StringArrayVar(&caps, "capability", nil, "only cards with this capability: streaming, push_notifications, extended_agent_card or an extension URI (repeatable)")
	f.StringArrayVar(&sts, "status", nil, "cards with this status (default active; repeatable)")
	f.IntVar(&limit, "limit", 50, "page size (1–500)")
	f.BoolVar(&owned, "owned", false, "only your own cards (needs --credential)")
	f.BoolVar(&all, "all", false, "follow the pages to the end")
	f.BoolVar(&asJSON, "json", false, "print the API's items as JSON")
	f.StringVar(&minRep, "min-reputation", "", "only agents scoring at least this (0–1000)")
	f.StringVar(&tier, "tier", "", "only agents of this reputation tier (Untrusted, New, Trusted, Verified, Elite)")
	f.StringVar(&sortBy, "sort", "", "relevance (default) or reputation (the 500 best matches, best score first)")
	f.BoolVar(&federated, "federated", false, "also search the registry's federation peers live (one merged page, an ORIGIN column; what each peer did is printed on standard error)")
	return c
}

// envOr is the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
