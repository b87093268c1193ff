package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
)

// disputeHelp is the long help of `sovereign dispute`.
const disputeHelp = `dispute files and follows disputes between agents. A dispute costs the filing fee (10 AVT by
default), held in the dispute escrow. A dispute about a paid task's pending transfer freezes it:
neither side can post or void it, and it does not expire, until the dispute ends.

The parties submit evidence until the evidence deadline (3 days by default); then a panel of 3
arbitrators is drawn from the Verified validators, weighted by stake. Each panelist commits a vote
(a hash of the vote and a secret salt) before the commit deadline, then reveals it before the
reveal deadline. The majority rules: the loser forfeits the fee to the majority, is slashed 5 % of
its stake and loses reputation; a frozen payment goes to the winner; a panelist who did not
reveal a vote is slashed 1 %. The loser may appeal once, for twice the fee, to a panel of 6.

The agent acting is the one whose credential is used (--credential, SOVEREIGN_TOKEN, or --as a
registered agent).`

// disputeFlags are the flags every dispute command shares.
type disputeFlags struct {
	stakeFlags
	note string // printed to stderr once the write succeeded
}

func (d *disputeFlags) call(method, path, idem string, body, out any) error {
	api, err := d.client()
	if err != nil {
		return err
	}
	var h map[string]string
	if idem != "" {
		h = map[string]string{"Idempotency-Key": idem}
	}
	return api.do(method, path, h, body, out)
}

// printDispute prints a dispute: one line, or with full the evidence, panels and history.
func (d *disputeFlags) printDispute(cmd *cobra.Command, v teghttp.DisputeOutput, full bool) {
	if d.asJSON {
		d.print(cmd, v, "")
		return
	}
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, disputeLine(&v.Dispute))
	if v.Event != nil {
		fmt.Fprintf(out, "  event %s #%d%s\n", v.Event.Kind, v.Event.Seq, map[bool]string{true: " (replayed)"}[v.Event.Replayed])
	}
	if !full {
		return
	}
	if v.Claim != "" {
		fmt.Fprintf(out, "  claim: %s\n", v.Claim)
	}
	for _, e := range v.EvidenceItems {
		fmt.Fprintf(out, "  evidence %d by %s at %s:%s\n", e.N, e.Party, e.At.Format(time.RFC3339), evidenceText(e))
	}
	for _, r := range v.Rounds {
		fmt.Fprintf(out, "  round %d: panel %s (seed %s; re-drawn: %v)\n", r.Number, joinAgents(r.Panel), r.Seed, teg.CheckDraw(&r))
		fmt.Fprintf(out, "    commit by %s, reveal by %s\n", r.CommitDeadline.Format(time.RFC3339), r.RevealDeadline.Format(time.RFC3339))
		for _, vt := range r.Votes {
			state := "no vote"
			switch {
			case vt.Vote != "":
				state = "revealed " + vt.Vote
			case vt.Commitment != "":
				state = "committed"
			}
			fmt.Fprintf(out, "    %-24s %s\n", vt.Arbitrator, state)
		}
		if r.Ruling != "" {
			fmt.Fprintf(out, "    ruling: %s (majority %s)\n", r.Ruling, joinAgents(r.Majority))
		}
	}
	for _, h := range v.History {
		fmt.Fprintf(out, "  %s %s\n", h.At.Format(time.RFC3339), h.To)
	}
}

func evidenceText(e teg.Evidence) string {
	var parts []string
	for _, p := range [][2]string{{"hash", e.Hash}, {"uri", e.URI}, {"text", e.Text}} {
		if p[1] != "" {
			parts = append(parts, fmt.Sprintf(" %s %q", p[0], p[1]))
		}
	}
	return strings.Join(parts, "")
}

func joinAgents(ids []teg.AccountID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

// disputeLine is a dispute in one line.
func disputeLine(d *teg.Dispute) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-11s %s: %s against %s, %s AVT in escrow", d.ID, d.State, d.Category, d.Filer, d.Respondent, d.Escrowed())
	if d.Transfer != "" {
		fmt.Fprintf(&b, ", about %s", d.Transfer)
		if d.Frozen {
			b.WriteString(" (frozen)")
		}
	}
	if !d.Deadline.IsZero() {
		fmt.Fprintf(&b, ", next step %s", d.Deadline.Local().Format(time.RFC3339))
	}
	if d.Winner != "" {
		fmt.Fprintf(&b, ", won by %s", d.Winner)
	}
	return b.String()
}

// newSalt is a fresh secret salt for a commitment.
func newSalt(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func newDispute() *cobra.Command {
	d := &disputeFlags{}
	c := &cobra.Command{Use: "dispute", Short: "Disputes: file, submit evidence, vote as an arbitrator, appeal, withdraw", Long: disputeHelp}
	d.bind(c)
	// write is a dispute write: POST path with body, printing the dispute as it now stands.
	write := func(use, short string, nargs int, path func(args []string) string, body func(cmd *cobra.Command, args []string) (any, error)) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs),
			RunE: func(cmd *cobra.Command, args []string) error {
				b, err := body(cmd, args)
				if err != nil {
					return err
				}
				var v teghttp.DisputeOutput
				if err := d.call("POST", path(args), d.idemKey(), b, &v); err != nil {
					return err
				}
				d.printDispute(cmd, v, false)
				if d.note != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), d.note)
				}
				return nil
			}}
		cmd.Flags().StringVar(&d.agent, "agent", "", "the agent acted for (default: your own; admins name any)")
		cmd.Flags().StringVar(&d.idem, "idempotency-key", "", "retry-safe key (default: a new one; reuse it to retry safely)")
		return cmd
	}
	on := func(action string) func([]string) string {
		return func(args []string) string { return "/api/v1/disputes/" + url.PathEscape(args[0]) + "/" + action }
	}
	withAgent := func(m map[string]any) map[string]any {
		if d.agent != "" {
			m["agent"] = d.agent
		}
		return m
	}

	var against, transfer, category, claim string
	file := write("file", "File a dispute against an agent, or about a transfer between you (a paid task's hold is frozen)", 0,
		func([]string) string { return "/api/v1/disputes" },
		func(*cobra.Command, []string) (any, error) {
			if against == "" && transfer == "" {
				return nil, fmt.Errorf("name the other party (--against) or the transfer (--transfer)")
			}
			return withAgent(map[string]any{"respondent": against, "transfer": transfer, "category": category, "claim": claim}), nil
		})
	file.Flags().StringVar(&against, "against", "", "the agent the dispute is against (default: the other party of --transfer)")
	file.Flags().StringVar(&transfer, "transfer", "", "the transfer the dispute is about (a pending one is frozen)")
	file.Flags().StringVar(&category, "category", "", "unfair_fee, failed_service, reputation_abuse, contract_violation, data_integrity or other")
	file.Flags().StringVar(&claim, "claim", "", "what you claim (at most 4 KiB by default)")
	_ = file.MarkFlagRequired("category")

	var hash, uri, text string
	evidence := write("evidence ID", "Submit evidence (the parties, before the evidence deadline): a hash and URI, a text, or both", 1, on("evidence"),
		func(*cobra.Command, []string) (any, error) {
			return withAgent(map[string]any{"hash": hash, "uri": uri, "text": text}), nil
		})
	evidence.Flags().StringVar(&hash, "hash", "", "the hash of a document kept elsewhere (e.g. hex SHA-256)")
	evidence.Flags().StringVar(&uri, "uri", "", "where that document is")
	evidence.Flags().StringVar(&text, "text", "", "the evidence itself (at most 4 KiB by default)")

	var vote, salt string
	commit := write("commit ID", "Commit your vote as a panelist (its salt is printed: keep it to reveal)", 1, on("commit"),
		func(cmd *cobra.Command, args []string) (any, error) {
			if vote != teg.SideFiler && vote != teg.SideRespondent {
				return nil, fmt.Errorf("--vote %q: filer or respondent", vote)
			}
			me := d.agent
			if me == "" {
				var err error
				if me, err = d.self(cmd.Context()); err != nil {
					return nil, err
				}
			}
			s := salt
			if s == "" {
				var err error
				if s, err = newSalt(rand.Reader); err != nil {
					return nil, err
				}
			}
			d.note = fmt.Sprintf("salt %s: keep it; reveal with: sovereign dispute reveal %s --vote %s --salt %s", s, args[0], vote, s)
			return withAgent(map[string]any{"commitment": teg.CommitmentOf(args[0], teg.AccountID(me), vote, s)}), nil
		})
	commit.Flags().StringVar(&vote, "vote", "", "filer or respondent")
	commit.Flags().StringVar(&salt, "salt", "", "your secret salt (default: a new random one, printed)")
	_ = commit.MarkFlagRequired("vote")
	var revealVote, revealSalt string
	reveal := write("reveal ID", "Reveal your committed vote (after the commit deadline, before the reveal deadline)", 1, on("reveal"),
		func(*cobra.Command, []string) (any, error) {
			return withAgent(map[string]any{"vote": revealVote, "salt": revealSalt}), nil
		})
	reveal.Flags().StringVar(&revealVote, "vote", "", "the vote you committed: filer or respondent")
	reveal.Flags().StringVar(&revealSalt, "salt", "", "the salt you committed with")
	_ = reveal.MarkFlagRequired("vote")
	_ = reveal.MarkFlagRequired("salt")

	bodyless := func(*cobra.Command, []string) (any, error) { return withAgent(map[string]any{}), nil }
	appeal := write("appeal ID", "Appeal a ruling against you, once, for twice the fee (a panel of 6 is drawn)", 1, on("appeal"), bodyless)
	withdraw := write("withdraw ID", "Withdraw your dispute before arbitration (the fee goes to the treasury; a frozen payment is released)", 1, on("withdraw"), bodyless)

	show := &cobra.Command{Use: "show ID", Short: "Show a dispute: its evidence, panels, votes and history (parties, panelists, admins)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v teghttp.DisputeOutput
			if err := d.call("GET", "/api/v1/disputes/"+url.PathEscape(args[0]), "", nil, &v); err != nil {
				return err
			}
			d.printDispute(cmd, v, true)
			return nil
		}}
	var state string
	list := &cobra.Command{Use: "list", Short: "List your disputes, as a party or a panelist (admins: every dispute)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if d.agent != "" {
				q.Set("agent", d.agent)
			}
			if state != "" {
				q.Set("state", strings.ToUpper(state))
			}
			path := "/api/v1/disputes"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var v struct {
				Items []teg.Dispute `json:"items"`
			}
			if err := d.call("GET", path, "", nil, &v); err != nil {
				return err
			}
			if d.asJSON {
				d.print(cmd, v, "")
				return nil
			}
			if len(v.Items) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no disputes")
			}
			for i := range v.Items {
				fmt.Fprintln(cmd.OutOrStdout(), disputeLine(&v.Items[i]))
			}
			return nil
		}}
	list.Flags().StringVar(&d.agent, "agent", "", "whose disputes (default: your own; admins name any)")
	list.Flags().StringVar(&state, "state", "", "only those in this state (OPEN, EVIDENCE, ARBITRATION, RULED, APPEALED, CLOSED, WITHDRAWN, REJECTED, EXPIRED)")
	c.AddCommand(file, evidence, show, list, commit, reveal, appeal, withdraw)
	return c
}
