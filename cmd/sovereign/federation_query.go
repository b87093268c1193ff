package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedhttp"
)

// ago says how long before now t was ("-" for never).
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return now.Sub(*t).Round(time.Second).String() + " ago"
}

// bundleFreshness says whether a peer's trust bundle is fresh: fetched and not yet due, due
// (its refresh is late), failing (with the last good one still in use, if any), or never
// fetched.
func bundleFreshness(b *fedhttp.BundleView, now time.Time) string {
	switch {
	case b == nil:
		return "-"
	case b.Error != "" && b.RefreshedAt == nil:
		return "never fetched (" + b.Error + ")"
	case b.Error != "":
		return "failing, last good " + ago(b.RefreshedAt, now) + " (" + b.Error + ")"
	case b.RefreshedAt == nil:
		return "not fetched yet"
	case b.NextRefresh != nil && now.After(b.NextRefresh.Add(federation.FetchTimeout)):
		return "stale, fetched " + ago(b.RefreshedAt, now)
	default:
		s := "fresh, fetched " + ago(b.RefreshedAt, now)
		if b.NextRefresh != nil {
			s += ", next in " + b.NextRefresh.Sub(now).Round(time.Second).String()
		}
		return s
	}
}

// newFederationStatus is `federation status`: each peer's state, bundle, last success,
// latency, errors and breaker, as a table.
func newFederationStatus(t *tokenFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Each peer's state, trust bundle freshness, last success, latency, errors and breaker",
		Long: `status shows what this registry (the replica answering) sees of each peer: its state,
whether its SPIFFE trust bundle is fresh, when a live query last succeeded, the last latency, its
errors (consecutive and total) and its circuit breaker (closed, open: skipped, half-open: one query
let through). The last error of a peer follows on its own line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			var list fedhttp.PeerList
			if err := cl.do("GET", "/api/v1/federation/peers", nil, nil, &list); err != nil {
				return err
			}
			if t.asJSON {
				return printJSON(cmd.OutOrStdout(), list)
			}
			out := cmd.OutOrStdout()
			if len(list.Items) == 0 {
				fmt.Fprintln(out, "(no peers)")
				return nil
			}
			now := time.Now()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TRUST DOMAIN\tSTATE\tBREAKER\tLAST SUCCESS\tLATENCY\tERRORS\tBUNDLE")
			var notes []string
			for _, p := range list.Items {
				breaker, success, latency, errs := "-", "-", "-", "-"
				if h := p.Health; h != nil {
					breaker, success = h.Breaker, ago(h.LastSuccessAt, now)
					if h.LastSuccessAt != nil || h.LastErrorAt != nil {
						latency = strconv.FormatInt(h.LastLatencyMS, 10) + "ms"
					}
					errs = fmt.Sprintf("%d (%d total)", h.ConsecutiveErrors, h.TotalErrors)
					if h.LastError != "" {
						notes = append(notes, fmt.Sprintf("%s: last error %s: %s", p.TrustDomain, ago(h.LastErrorAt, now), h.LastError))
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.TrustDomain, p.State, breaker, success, latency, errs, bundleFreshness(p.Bundle, now))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(out, n)
			}
			return nil
		},
	}
}

// federatedPage is a federated search's answer as the query command reads it.
type federatedPage struct {
	Items []discoveredCard         `json:"items"`
	Peers []federation.PeerOutcome `json:"peers"`
}

// newFederationQuery is `federation query`: a federated search, its results with their origin
// registry and every peer's outcome.
func newFederationQuery(t *tokenFlags) *cobra.Command {
	var (
		tags, skills, caps []string
		limit              int
	)
	c := &cobra.Command{
		Use:   "query <text>",
		Short: "Search this registry and its peers live: results with their origin, and what each peer did",
		Long: `query runs a federated discovery search on the registry: its own cards and, in parallel,
every ACTIVE peer's (and their peers', as far as the registry's hop limit goes). It prints the
results as one ranking with each card's ORIGIN registry, then the peers section: each peer
answered (with its number of results), timed_out, error (with the reason) or skipped (its
breaker is open, or the query already went through it), its latency, and VIA the peer that asked
it on the query's behalf. Anyone may search; no credential is needed.`,
		Example: `  sovereign federation query weather
  sovereign federation query "currency conversion" --tag finance --limit 5 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"include_federated": {"true"}, "limit": {strconv.Itoa(limit)}}
			if len(args) == 1 {
				q.Set("q", args[0])
			}
			for name, vs := range map[string][]string{"tag": tags, "skill": skills, "capability": caps} {
				for _, v := range vs {
					q.Add(name, v)
				}
			}
			cred := t.credential
			if cred == "" {
				cred = os.Getenv("SOVEREIGN_API_KEY")
			}
			var page federatedPage
			if err := newRegistryClient(t.registry, cred).do(http.MethodGet, "/api/v1/agent-cards?"+q.Encode(), nil, nil, &page); err != nil {
				return err
			}
			if t.asJSON {
				return printJSON(cmd.OutOrStdout(), page)
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			if len(page.Items) == 0 {
				fmt.Fprintln(out, "no agent cards match")
			} else {
				fmt.Fprintln(tw, "NAME\tID\tORIGIN\tSCORE\tSKILLS")
				for _, it := range page.Items {
					score := "-"
					if it.Score != nil {
						score = strconv.Itoa(*it.Score)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Name, it.ID, it.OriginRegistry, score, clip(strings.Join(it.Skills, ","), 40))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintln(out)
			if len(page.Peers) == 0 {
				fmt.Fprintln(out, "peers: none (this registry has no active peer)")
				return nil
			}
			fmt.Fprintln(tw, "PEER\tSTATUS\tRESULTS\tLATENCY\tREASON\tVIA")
			for _, p := range page.Peers {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%dms\t%s\t%s\n", p.TrustDomain, p.Status, p.Results, p.LatencyMS, orDash(p.Reason), orDash(p.Via))
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.StringSliceVar(&tags, "tag", nil, "only cards with this tag (repeatable; all must hold)")
	f.StringSliceVar(&skills, "skill", nil, "only cards with this skill id (repeatable)")
	f.StringSliceVar(&caps, "capability", nil, "only cards with this capability, e.g. streaming (repeatable)")
	f.IntVar(&limit, "limit", 20, "at most this many results (1–100)")
	return c
}
