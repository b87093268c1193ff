package main

import (
	"fmt"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/tracing"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type reputationScore struct {
	Agent       string `json:"agent"`
	Score       int    `json:"score"`
	Tier        string `json:"tier"`
	PerTransfer string `json:"per_transfer"`
	Daily       string `json:"daily"`
	Factors     []struct {
		Name   string  `json:"name"`
		Value  float64 `json:"value"`
		Weight float64 `json:"weight"`
		Points float64 `json:"points"`
	} `json:"factors"`
	ComputedAt  time.Time `json:"computed_at"`
	Provisional bool      `json:"provisional,omitempty"`
}

type reputationRating struct {
	InteractionID string    `json:"interaction_id"`
	Rater         string    `json:"rater"`
	Ratee         string    `json:"ratee"`
	Stars         int       `json:"stars"`
	Comment       string    `json:"comment,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

func (r reputationRating) line() string {
	s := fmt.Sprintf("%s %s  %s → %s  %s", strings.Repeat("★", r.Stars)+strings.Repeat("☆", 5-r.Stars), r.CreatedAt.UTC().Format(time.RFC3339),
		r.Rater, r.Ratee, r.InteractionID)
	if r.Comment != "" {
		s += fmt.Sprintf("  %q", r.Comment)
	}
	return s
}

// readClient is the client of a public read: the caller's credential when it has one, else
// none.
func (t *tokenFlags) readClient() *apiClient {
	if cl, err := t.client(); err == nil {
		return cl
	}
	return &apiClient{base: t.registry, http: tracing.Client(30 * time.Second)}
}

func newReputation() *cobra.Command {
	t := &tokenFlags{}
	c := &cobra.Command{Use: "reputation", Short: "Agents' reputation: scores with their factors, ratings; rate an agent you paid"}
	pf := c.PersistentFlags()
	pf.StringVar(&t.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&t.credential, "credential", "", "an agent's JWT-SVID or an avreg_ API key (env SOVEREIGN_TOKEN, SOVEREIGN_API_KEY); reads need none")
	pf.BoolVar(&t.asJSON, "json", false, "print JSON")

	show := &cobra.Command{
		Use: "show <agent>", Short: "An agent's score (0–1000), tier and limits, and every factor of the score", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sc reputationScore
			if err := t.readClient().do("GET", "/api/v1/reputation/"+url.PathEscape(args[0]), nil, nil, &sc); err != nil {
				return err
			}
			if t.asJSON {
				t.print(cmd, sc, "")
				return nil
			}
			w := cmd.OutOrStdout()
			when := "computed " + sc.ComputedAt.UTC().Format(time.RFC3339)
			if sc.Provisional {
				when = "not scored by a pass yet: a fresh agent's score"
			}
			fmt.Fprintf(w, "%s: %d/1000, tier %s (per transfer %s AVT, daily %s AVT); %s\n", sc.Agent, sc.Score, sc.Tier, sc.PerTransfer, sc.Daily, when)
			fmt.Fprintf(w, "  %-17s %12s %8s %8s\n", "factor", "value", "weight", "points")
			for _, f := range sc.Factors {
				fmt.Fprintf(w, "  %-17s %12.4g %8.0f %8.1f\n", f.Name, f.Value, f.Weight, f.Points)
			}
			return nil
		},
	}

	var interaction, comment string
	var stars int
	rate := &cobra.Command{
		Use: "rate <agent>", Short: "Rate the payee of a transfer you paid: once, within 7 days (agent credential)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			body := map[string]any{"interaction_id": interaction, "stars": stars}
			if comment != "" {
				body["comment"] = comment
			}
			var r reputationRating
			if err := cl.do("POST", "/api/v1/reputation/"+url.PathEscape(args[0])+"/ratings", nil, body, &r); err != nil {
				return err
			}
			t.print(cmd, r, "rated: "+r.line())
			return nil
		},
	}
	rate.Flags().StringVar(&interaction, "interaction", "", "the id of the transfer (or of the post of a held payment) you paid")
	rate.Flags().IntVar(&stars, "stars", 0, "1 to 5")
	rate.Flags().StringVar(&comment, "comment", "", "at most 280 bytes")
	_ = rate.MarkFlagRequired("interaction")
	_ = rate.MarkFlagRequired("stars")

	var limit int
	var cursor string
	ratings := &cobra.Command{
		Use: "ratings <agent>", Short: "The ratings an agent received, newest first", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var page struct {
				Items      []reputationRating `json:"items"`
				NextCursor string             `json:"next_cursor,omitempty"`
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			if err := t.readClient().do("GET", "/api/v1/reputation/"+url.PathEscape(args[0])+"/ratings?"+q.Encode(), nil, nil, &page); err != nil {
				return err
			}
			if t.asJSON {
				t.print(cmd, page, "")
				return nil
			}
			for _, r := range page.Items {
				fmt.Fprintln(cmd.OutOrStdout(), r.line())
			}
			if len(page.Items) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "(no ratings)")
			}
			if page.NextCursor != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "(more: --cursor "+page.NextCursor+")")
			}
			return nil
		},
	}
	ratings.Flags().IntVar(&limit, "limit", 50, "how many (1–500)")
	ratings.Flags().StringVar(&cursor, "cursor", "", "continue after a previous page")

	signed := &cobra.Command{
		Use: "signed <agent>", Short: "The agent's score and tier signed by the stack (a JWS anyone verifies offline)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p reputation.PortableReputation
			if err := t.readClient().do("GET", "/api/v1/reputation/"+url.PathEscape(args[0])+"/attestation", nil, nil, &p); err != nil {
				return err
			}
			t.print(cmd, p, p.Token)
			return nil
		},
	}
	var trustDomain string
	verify := &cobra.Command{
		Use:   "verify <token>",
		Short: "Verify a signed reputation against the stack's trust bundle and print what it states",
		Long: `verify fetches the trust bundle the stack publishes (GET /.well-known/spiffe-bundle) and checks
the token offline against it: the TEG's signature, the expiry and the statement. Another registry
or an agent does the same with agentvault.FetchTrustBundle and agentvault.VerifyReputation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := agentvault.FetchTrustBundle(cmd.Context(), nil, t.registry, trustDomain)
			if err != nil {
				return fmt.Errorf("trust bundle from %s: %w", t.registry, err)
			}
			p, err := agentvault.VerifyReputation(args[0], b)
			if err != nil {
				return cliError(err)
			}
			t.print(cmd, p, fmt.Sprintf("valid: %s scores %d, tier %s, signed by %s, until %s", p.Agent, p.Score, p.Tier, p.Issuer, p.ExpiresAt.UTC().Format(time.RFC3339)))
			return nil
		},
	}
	verify.Flags().StringVar(&trustDomain, "trust-domain", envOr("SOVEREIGN_TRUST_DOMAIN", "sovereign.test"), "the stack's trust domain (env SOVEREIGN_TRUST_DOMAIN)")
	c.AddCommand(show, rate, ratings, signed, verify)
	c.AddCommand(newVerifyAttestation(t))
	return c
}
