package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/teg/teghttp"
	"github.com/sovereign-stack/sovereign/tracing"
)

// governFlags are the flags of the governance commands: the connection (as for `sovereign
// token`) and an idempotency key for writes.
type governFlags struct {
	tokenFlags
	idem string
}

// public is a client for the public reads: with the caller's credential when there is one,
// else anonymous.
func (g *governFlags) public() *apiClient {
	if c, err := g.client(); err == nil {
		return c
	}
	return &apiClient{base: g.registry, http: tracing.Client(30 * time.Second)}
}

func (g *governFlags) headers() (map[string]string, string) {
	idem := g.idem
	if idem == "" {
		idem = fmt.Sprintf("cli-%d", time.Now().UnixNano())
	}
	return map[string]string{"Idempotency-Key": idem}, idem
}

func proposalLine(p teghttp.ProposalView) string {
	what := p.Kind
	switch p.Kind {
	case "param_change":
		keys := make([]string, 0, len(p.Changes))
		for k, v := range p.Changes {
			keys = append(keys, k+"="+string(v))
		}
		what += " " + strings.Join(keys, " ")
	case "policy_module":
		what += " " + p.Module
	case "treasury_spend":
		what += fmt.Sprintf(" %s AVT to %s", p.Amount, p.To)
	case "mint":
		what += fmt.Sprintf(" %s AVT", p.Amount)
	}
	when := "voting until " + p.VotingEndsAt.Local().Format(time.RFC3339)
	switch {
	case p.ExecutedAt != nil:
		when = "executed " + p.ExecutedAt.Local().Format(time.RFC3339)
	case p.Status == "passed" && p.ExecutableAt != nil:
		when = "executable from " + p.ExecutableAt.Local().Format(time.RFC3339)
	case p.ClosedAt != nil:
		when = "closed " + p.ClosedAt.Local().Format(time.RFC3339)
	}
	return fmt.Sprintf("#%d %-8s %q by %s: %s (deposit %s AVT; %s)", p.ID, p.Status, p.Title, p.Proposer, what, p.Deposit, when)
}

func tallyLine(t teghttp.TallyView) string {
	return fmt.Sprintf("yes %s, no %s, abstain %s, veto %s AVT of %s bonded (voted %s; quorum %v) → %s", t.Yes, t.No, t.Abstain, t.Veto, t.Bonded, t.Voted, t.Quorum, t.Outcome)
}

// readArg is v, or the contents of the file v names as @path.
func readArg(flag, v string) (string, error) {
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return v, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	return string(b), nil
}

func newGovern() *cobra.Command {
	g := &governFlags{}
	c := &cobra.Command{Use: "govern", Short: "Governance: propose parameter changes, policy modules, treasury spends and mints; vote; tally",
		Long: `govern makes and votes on governance proposals. An agent of the Trusted tier with a bonded stake
of 1,000 AVT proposes, depositing 100 AVT (returned unless the proposal is vetoed); agents with
bonded stake vote yes, no, abstain or veto for 7 days (delegators vote with their validator unless
they vote themselves). A passed proposal is executed by the ledger after a 1-day timelock. The
numbers are parameters (GET /api/v1/teg/params, "governance").`}
	pf := c.PersistentFlags()
	pf.StringVar(&g.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&g.credential, "credential", "", "an agent's JWT-SVID or an avreg_ API key (env SOVEREIGN_TOKEN, SOVEREIGN_API_KEY)")
	pf.StringVar(&g.as, "as", "", "act as this agent registered from this machine ('sovereign agent register'; default: the only or last one)")
	pf.BoolVar(&g.asJSON, "json", false, "print JSON")

	var kind, title, description, module, rego, tests, to, amount, reason, deposit string
	var changes []string
	create := &cobra.Command{
		Use: "create-proposal", Short: "Make a proposal (--kind param_change|policy_module|treasury_spend|mint)", Args: cobra.NoArgs,
		Example: `  sovereign govern create-proposal --kind param_change --title "halve the fee" --change fee.rate_bps=5
  sovereign govern create-proposal --kind policy_module --title "…" --module authz.rego --rego @authz.rego --tests @authz_gov_test.rego
  sovereign govern create-proposal --kind treasury_spend --title "tooling grant" --to agt_… --amount 250 --reason "build tooling"
  sovereign govern create-proposal --kind mint --title "grants budget" --amount 10000 --reason "…"`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := g.client()
			if err != nil {
				return err
			}
			body := map[string]any{"kind": kind, "title": title}
			for k, v := range map[string]string{"description": description, "module": module, "to": to, "amount": amount, "reason": reason, "deposit": deposit} {
				if v != "" {
					body[k] = v
				}
			}
			for flag, v := range map[string]string{"rego": rego, "tests": tests} {
				if v == "" {
					continue
				}
				if body[flag], err = readArg(flag, v); err != nil {
					return err
				}
			}
			if len(changes) > 0 {
				ch := map[string]json.RawMessage{}
				for _, kv := range changes {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return fmt.Errorf("--change %q: use key=value, e.g. fee.rate_bps=5 or fee.min=\"0.01\"", kv)
					}
					if !json.Valid([]byte(v)) { // a bare word is a string
						b, _ := json.Marshal(v)
						v = string(b)
					}
					ch[k] = json.RawMessage(v)
				}
				body["changes"] = ch
			}
			h, idem := g.headers()
			var p teghttp.ProposalView
			if err := api.do("POST", "/api/v1/governance/proposals", h, body, &p); err != nil {
				return err
			}
			g.print(cmd, p, proposalLine(p)+"  (Idempotency-Key "+idem+")")
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&kind, "kind", "", "param_change, policy_module, treasury_spend or mint")
	f.StringVar(&title, "title", "", "a short title")
	f.StringVar(&description, "description", "", "what and why")
	f.StringArrayVar(&changes, "change", nil, "param_change: key=value (a JSON value), repeatable: fee.rate_bps=5, governance.quorum_bps=2500, fee.min=0.01")
	f.StringVar(&module, "module", "", "policy_module: the Rego file it adds or replaces (e.g. authz.rego)")
	f.StringVar(&rego, "rego", "", "policy_module: the module's source, or @file")
	f.StringVar(&tests, "tests", "", "policy_module: its Rego tests (test_* rules), or @file")
	f.StringVar(&to, "to", "", "treasury_spend: the wallet paid")
	f.StringVar(&amount, "amount", "", "treasury_spend, mint: AVT")
	f.StringVar(&reason, "reason", "", "treasury_spend, mint: why")
	f.StringVar(&deposit, "deposit", "", "AVT to deposit (default: the minimum, 100 AVT unless governance changed it)")
	f.StringVar(&g.idem, "idempotency-key", "", "retry-safe key (default: a new one; reuse it to retry safely)")
	_ = create.MarkFlagRequired("kind")
	_ = create.MarkFlagRequired("title")

	// write is a command that posts to path (built from the arguments) and prints the ledger
	// event it made.
	write := func(use, short string, nargs int, path func(args []string) string, body func(args []string) any, line func(args []string, t tokenTransfer) string) *cobra.Command {
		cmd := &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(nargs),
			RunE: func(cmd *cobra.Command, args []string) error {
				api, err := g.client()
				if err != nil {
					return err
				}
				h, idem := g.headers()
				var t tokenTransfer
				if err := api.do("POST", path(args), h, body(args), &t); err != nil {
					return err
				}
				g.print(cmd, t, line(args, t)+"  (Idempotency-Key "+idem+")")
				return nil
			},
		}
		cmd.Flags().StringVar(&g.idem, "idempotency-key", "", "retry-safe key (default: a new one)")
		return cmd
	}
	proposalPath := func(args []string) string { return "/api/v1/governance/proposals/" + url.PathEscape(args[0]) }
	vote := write("vote ID yes|no|abstain|veto", "Vote with your bonded stake (again to change your vote, until the voting ends)", 2,
		func(args []string) string { return proposalPath(args) + "/votes" },
		func(args []string) any { return map[string]any{"option": args[1]} },
		func(args []string, t tokenTransfer) string {
			return fmt.Sprintf("voted %s on #%s (event %d)", args[1], args[0], t.Seq)
		})
	execute := write("execute ID", "Execute a passed proposal whose timelock ended (the ledger does it within a second anyway)", 1,
		func(args []string) string { return proposalPath(args) + ":execute" },
		func([]string) any { return nil },
		func(args []string, t tokenTransfer) string {
			return fmt.Sprintf("executed #%s: %s (event %d)", args[0], t.Kind, t.Seq)
		})

	show := &cobra.Command{
		Use: "show ID", Short: "Show a proposal", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p teghttp.ProposalView
			if err := g.public().do("GET", proposalPath(args), nil, nil, &p); err != nil {
				return err
			}
			line := proposalLine(p)
			if p.Description != "" {
				line += "\n  " + p.Description
			}
			if p.Tally != nil {
				line += "\n  final tally: " + tallyLine(*p.Tally)
			}
			g.print(cmd, p, line)
			return nil
		},
	}

	var status string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List proposals, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {fmt.Sprint(limit)}}
			if status != "" {
				q.Set("status", status)
			}
			var page struct {
				Items []teghttp.ProposalView `json:"items"`
			}
			if err := g.public().do("GET", "/api/v1/governance/proposals?"+q.Encode(), nil, nil, &page); err != nil {
				return err
			}
			if g.asJSON {
				g.print(cmd, page, "")
				return nil
			}
			if len(page.Items) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no proposals")
			}
			for _, p := range page.Items {
				fmt.Fprintln(cmd.OutOrStdout(), proposalLine(p))
			}
			return nil
		},
	}
	list.Flags().StringVar(&status, "status", "", "only voting, passed, rejected, vetoed or executed proposals")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many")

	tally := &cobra.Command{
		Use: "tally ID", Short: "Show a proposal's tally: live while it is voted on, final after", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t struct {
				Proposal uint64 `json:"proposal"`
				Status   string `json:"status"`
				Final    bool   `json:"final"`
				teghttp.TallyView
			}
			if err := g.public().do("GET", proposalPath(args)+"/tally", nil, nil, &t); err != nil {
				return err
			}
			which := "live"
			if t.Final {
				which = "final"
			}
			g.print(cmd, t, fmt.Sprintf("#%d %s, %s tally: %s", t.Proposal, t.Status, which, tallyLine(t.TallyView)))
			return nil
		},
	}
	c.AddCommand(create, vote, execute, show, list, tally)
	return c
}
