package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/tracing"
)

// apiClient calls a running stack's HTTP API with one credential.
type apiClient struct {
	base, credential string
	http             *http.Client
	// self is the agent the client acts as, when it acts as a stored agent ("" otherwise).
	self string
}

// apiError is an error envelope the server answered with.
type apiError struct {
	Status  int
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// do sends body (nil for none) and decodes a 2xx answer into out.
func (c *apiClient) do(method, path string, headers map[string]string, body, out any) error {
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rdr = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.base, "/")+path, rdr)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.credential != "" {
		req.Header.Set("Authorization", "Bearer "+c.credential)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return unreachable(c.base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var env struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error.Code == "" {
			return notSovereign(c.base, method, path, res.StatusCode, raw)
		}
		env.Error.Status = res.StatusCode
		return &env.Error
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s answered something a Sovereign registry does not send (%v): is %s the registry?", method, path, err, c.base)
		}
	}
	return nil
}

// tokenFlags are the connection flags of the token commands.
type tokenFlags struct {
	registry, credential, as string
	asJSON                   bool
}

func (t *tokenFlags) client() (*apiClient, error) {
	if t.as != "" {
		if t.credential != "" {
			return nil, fmt.Errorf("--as and --credential both name who to act as: give one")
		}
		api, _, err := agentClient(t.registry, t.as)
		return api, err
	}
	cred := t.credential
	if cred == "" {
		cred = os.Getenv("SOVEREIGN_TOKEN")
	}
	if cred == "" {
		cred = os.Getenv("SOVEREIGN_API_KEY")
	}
	if cred == "" {
		// The agent registered from this machine ('sovereign agent register'), if any.
		if creds, err := loadCredentials(); err == nil && creds.registry(t.registry).Current != "" {
			api, _, err := agentClient(t.registry, "")
			return api, err
		}
		return nil, fmt.Errorf("no credential: pass --credential (an agent's JWT-SVID, or an avreg_ API key), set SOVEREIGN_TOKEN / SOVEREIGN_API_KEY, or register an agent with 'sovereign agent register'")
	}
	if _, err := url.Parse(t.registry); err != nil {
		return nil, fmt.Errorf("--registry: %w", err)
	}
	return &apiClient{base: t.registry, credential: cred, http: tracing.Client(30 * time.Second)}, nil
}

// print writes v as JSON with --json, else the human line.
func (t *tokenFlags) print(cmd *cobra.Command, v any, human string) {
	if t.asJSON {
		_ = printJSON(cmd.OutOrStdout(), v)
		return
	}
	fmt.Fprintln(cmd.OutOrStdout(), human)
}

type tokenTransfer struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	From     string `json:"from"`
	To       string `json:"to"`
	Amount   string `json:"amount"`
	Fee      string `json:"fee"`
	Message  string `json:"message"`
	Seq      uint64 `json:"seq"`
	Replayed bool   `json:"replayed"`
	Created  string `json:"created_at"`
}

func (t tokenTransfer) line() string {
	s := fmt.Sprintf("%-8s %s AVT (fee %s) %s → %s  id %s seq %d", t.Kind, t.Amount, t.Fee, orDash(t.From), orDash(t.To), t.ID, t.Seq)
	if t.Message != "" {
		s += fmt.Sprintf("  %q", t.Message)
	}
	if t.Replayed {
		s += "  (replayed)"
	}
	return s
}

// row is the transfer as a history row from self's side: the other party, and the amount
// signed (+ received, - sent).
func (t tokenTransfer) row(self string, withID bool) []string {
	var other, amount string
	switch self {
	case "":
		other, amount = orDash(t.From)+" → "+orDash(t.To), t.Amount
	case t.To:
		other, amount = orDash(t.From), "+"+t.Amount
	default:
		other, amount = orDash(t.To), "-"+t.Amount
	}
	ts := t.Created
	if at, err := time.Parse(time.RFC3339Nano, t.Created); err == nil {
		ts = at.UTC().Format("2006-01-02 15:04:05")
	}
	r := []string{ts, t.Kind, other, amount, t.Fee, t.Message}
	if withID {
		r = append(r, t.ID)
	}
	return r
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newToken() *cobra.Command {
	t := &tokenFlags{}
	c := &cobra.Command{Use: "token", Short: "AVT: balances, transfers, history; admin mint, burn and grant"}
	pf := c.PersistentFlags()
	pf.StringVar(&t.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the stack (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&t.credential, "credential", "", "an agent's JWT-SVID or an avreg_ API key (env SOVEREIGN_TOKEN, SOVEREIGN_API_KEY)")
	pf.StringVar(&t.as, "as", "", "act as this agent registered from this machine (agt_…; default: the last registered)")
	pf.BoolVar(&t.asJSON, "json", false, "print JSON")

	var account string
	balance := &cobra.Command{
		Use: "balance", Short: "Show a wallet's balances (default: your own)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			var b map[string]any
			if err := cl.do("GET", "/api/v1/token/balance?account="+url.QueryEscape(account), nil, nil, &b); err != nil {
				return err
			}
			t.print(cmd, b, fmt.Sprintf("%s: liquid %v, locked %v, staked %v, unbonding %v, total %v AVT", b["account"], b["liquid"], b["locked"], b["staked"], b["unbonding"], b["total"]))
			return nil
		},
	}
	balance.Flags().StringVar(&account, "account", "", "the wallet (admins may read any)")

	var (
		limit       int
		cursor      string
		all, withID bool
	)
	history := &cobra.Command{
		Use: "history", Short: "List a wallet's transfers, newest first", Args: cobra.NoArgs,
		Long: `history lists a wallet's transfers, newest first: time, kind, counterparty, amount (signed: + in,
- out), fee and message. Zero-amount bookkeeping rows (the wallet's opening) are left out unless
--all; --ids adds the transfer ids. --json prints the page as the API answers it, with next_cursor;
--cursor CURSOR reads the next page.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			var page struct {
				Items      []tokenTransfer `json:"items"`
				NextCursor string          `json:"next_cursor"`
			}
			q := url.Values{"account": {account}, "limit": {strconv.Itoa(limit)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			if err := cl.do("GET", "/api/v1/token/transactions?"+q.Encode(), nil, nil, &page); err != nil {
				return err
			}
			if t.asJSON {
				t.print(cmd, page, "")
				return nil
			}
			self := account
			if self == "" {
				self = cl.self
			}
			header := []string{"TIME", "KIND", "COUNTERPARTY", "AMOUNT", "FEE", "MESSAGE"}
			if withID {
				header = append(header, "ID")
			}
			var rows [][]string
			for _, tr := range page.Items {
				if !all && tr.Amount == "0" {
					continue
				}
				rows = append(rows, tr.row(self, withID))
			}
			printTable(cmd.OutOrStdout(), header, rows)
			if page.NextCursor != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: sovereign token history --cursor %s\n", page.NextCursor)
			}
			return nil
		},
	}
	history.Flags().StringVar(&account, "account", "", "the wallet (admins may read any)")
	history.Flags().IntVar(&limit, "limit", 50, "how many, 1 to 500")
	history.Flags().StringVar(&cursor, "cursor", "", "the next page's cursor, from the previous page")
	history.Flags().BoolVar(&all, "all", false, "also list zero-amount rows (a wallet's opening)")
	history.Flags().BoolVar(&withID, "ids", false, "add the transfer ids")

	c.AddCommand(balance, history,
		tokenWrite(t, "transfer", "Pay another wallet from your own (agent credential)", "/api/v1/token/transfer", []string{"to", "amount"}, []string{"message"}),
		tokenWrite(t, "mint", "Mint AVT into the treasury (admin)", "/api/v1/token/mint", []string{"amount"}, []string{"message"}),
		tokenWrite(t, "burn", "Burn AVT from a wallet (admin)", "/api/v1/token/burn", []string{"account", "amount"}, []string{"message"}),
		tokenWrite(t, "grant", "Grant AVT from the treasury (admin)", "/api/v1/token/grant", []string{"to", "amount"}, []string{"message"}),
	)
	return c
}

// tokenFlagHelp explains the flags of the token write commands.
var tokenFlagHelp = map[string]string{
	"to":      "the receiving wallet, an agent id (agt_…)",
	"account": "the wallet, an agent id (agt_…)",
	"amount":  "AVT, e.g. 1.5 (up to 18 decimals)",
	"message": "a note kept with the transfer (at most 256 bytes)",
}

// tokenWrite builds a command that POSTs its flags as a JSON body with an Idempotency-Key.
func tokenWrite(t *tokenFlags, use, short, path string, required, optional []string) *cobra.Command {
	vals := map[string]*string{}
	var idem string
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			body := map[string]string{}
			for k, v := range vals {
				if *v != "" {
					body[k] = *v
				}
			}
			if idem == "" {
				idem = fmt.Sprintf("cli-%d", time.Now().UnixNano())
			}
			var tr tokenTransfer
			if err := cl.do("POST", path, map[string]string{"Idempotency-Key": idem}, body, &tr); err != nil {
				return err
			}
			t.print(cmd, tr, tr.line()+"  (Idempotency-Key "+idem+")")
			return nil
		},
	}
	for _, f := range append(append([]string{}, required...), optional...) {
		v := new(string)
		vals[f] = v
		cmd.Flags().StringVar(v, f, "", tokenFlagHelp[f])
	}
	for _, f := range required {
		_ = cmd.MarkFlagRequired(f)
	}
	cmd.Flags().StringVar(&idem, "idempotency-key", "", "retry-safe key (default: a new one; reuse it to retry safely)")
	return cmd
}

// printJSON writes v as indented JSON, the form of every command's --json.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
