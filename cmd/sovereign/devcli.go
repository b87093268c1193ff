package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/registry/registryhttp"
)

// The developer's day on the command line: account (register, whoami, logout), agents (list,
// show, balance), API keys and bootstrap tokens. Every command takes --registry
// (SOVEREIGN_REGISTRY), --token (else SOVEREIGN_TOKEN, else the login of 'sovereign login') and
// --json; without --json, lists are tables on a terminal and tab-separated rows elsewhere
// (docs/CLI.md).

// devFlags are the connection and output flags of the developer commands.
type devFlags struct {
	registry, token string
	asJSON          bool
}

func (d *devFlags) bind(c *cobra.Command, withToken bool) {
	f := c.Flags()
	f.StringVar(&d.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL (env SOVEREIGN_REGISTRY)")
	if withToken {
		f.StringVar(&d.token, "token", "", "developer access token or API key (default SOVEREIGN_TOKEN, then 'sovereign login')")
	}
	f.BoolVar(&d.asJSON, "json", false, "print the answer as JSON")
}

// client is an API client acting as the developer.
func (d *devFlags) client() (*apiClient, error) {
	tok, err := developerToken(d.registry, d.token)
	if err != nil {
		return nil, err
	}
	return newRegistryClient(d.registry, tok), nil
}

// call makes one request as the developer and decodes the answer into out.
func (d *devFlags) call(method, path string, body, out any) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	return cl.do(method, path, nil, body, out)
}

// show prints v as JSON with --json, else runs human.
func (d *devFlags) show(cmd *cobra.Command, v any, human func(w io.Writer)) error {
	if d.asJSON {
		return printJSON(cmd.OutOrStdout(), v)
	}
	human(cmd.OutOrStdout())
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}

// printTable writes rows under header as an aligned table on a terminal, and as tab-separated
// rows without the header elsewhere (for cut, awk and friends), as gh does.
func printTable(w io.Writer, header []string, rows [][]string) {
	if !isTerminal(w) {
		for _, r := range rows {
			fmt.Fprintln(w, strings.Join(r, "\t"))
		}
		return
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "(none)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// when formats an optional time for a table ("-" for none).
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// readPassword is the password of a command: SOVEREIGN_PASSWORD, a line of standard input with
// --password-stdin, or a prompt (without echo) when standard input is a terminal.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	if pw := os.Getenv("SOVEREIGN_PASSWORD"); pw != "" {
		return pw, nil
	}
	in := cmd.InOrStdin()
	if !fromStdin {
		if f, ok := in.(*os.File); ok && isTerminal(f) {
			fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
			pw, err := readNoEcho(f)
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return "", fmt.Errorf("reading the password: %w", err)
			}
			return pw, nil
		}
		return "", errors.New("no password: type it at the prompt (run on a terminal), set SOVEREIGN_PASSWORD, or pipe it with --password-stdin")
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newRegister() *cobra.Command {
	var (
		d           devFlags
		email, name string
		pwStdin     bool
	)
	c := &cobra.Command{
		Use:   "register --email EMAIL --name NAME [--password-stdin]",
		Short: "Create a developer account (sign up)",
		Long: `register creates a developer account. The password is asked for on a terminal, or comes from
SOVEREIGN_PASSWORD or standard input with --password-stdin (at least 12 characters). The answer holds
three recovery keys, shown only now. Verify the email next (the emailed link, or on the server
'sovereign developer verify EMAIL'), then 'sovereign login'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" || name == "" {
				return errors.New("--email and --name are required, e.g. sovereign register --email ada@example.com --name 'Ada Lovelace'")
			}
			pw, err := readPassword(cmd, pwStdin)
			if err != nil {
				return err
			}
			var out struct {
				Developer    registryhttp.DeveloperView `json:"developer"`
				RecoveryKeys []string                   `json:"recovery_keys"`
			}
			if err := newRegistryClient(d.registry, "").do(http.MethodPost, "/api/v1/auth/register", nil,
				map[string]string{"email": email, "name": name, "password": pw}, &out); err != nil {
				return err
			}
			return d.show(cmd, out, func(w io.Writer) {
				fmt.Fprintf(w, "registered %s (%s)\n", out.Developer.Email, out.Developer.ID)
				fmt.Fprintf(w, "recovery keys (shown only now; store them safely):\n")
				for _, k := range out.RecoveryKeys {
					fmt.Fprintf(w, "  %s\n", k)
				}
				fmt.Fprintf(w, "next: verify the email (open the link; on the server: sovereign developer verify %s), then sovereign login --email %s\n", out.Developer.Email, out.Developer.Email)
			})
		},
	}
	d.bind(c, false)
	c.Flags().StringVar(&email, "email", "", "your email address")
	c.Flags().StringVar(&name, "name", "", "your name")
	c.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	return c
}

func newWhoami() *cobra.Command {
	var d devFlags
	c := &cobra.Command{
		Use:   "whoami",
		Short: "Show the developer you are logged in as, and the agent the agent commands act as",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var me registryhttp.DeveloperView
			if err := d.call(http.MethodGet, "/api/v1/developers/me", nil, &me); err != nil {
				return err
			}
			current := ""
			if creds, err := loadCredentials(); err == nil {
				current = creds.registry(d.registry).Current
			}
			out := struct {
				registryhttp.DeveloperView
				Registry     string `json:"registry"`
				CurrentAgent string `json:"current_agent,omitempty"`
			}{me, strings.TrimRight(d.registry, "/"), current}
			return d.show(cmd, out, func(w io.Writer) {
				verified := "verified"
				if !me.EmailVerified {
					verified = "NOT verified: open the emailed link, or on the server: sovereign developer verify " + me.Email
				}
				fmt.Fprintf(w, "%s <%s> (%s, %s) at %s, email %s\n", me.Name, me.Email, me.ID, me.Role, out.Registry, verified)
				if current != "" {
					fmt.Fprintf(w, "agent commands act as %s\n", current)
				}
			})
		},
	}
	d.bind(c, true)
	return c
}

func newLogout() *cobra.Command {
	var registry string
	c := &cobra.Command{
		Use:   "logout [--registry URL]",
		Short: "End the login session and forget its tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			creds, err := loadCredentials()
			if err != nil {
				return err
			}
			r := creds.registry(registry)
			if r.Developer == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "not logged in to %s\n", registry)
				return nil
			}
			// End the session on the server too; a session that has already ended is fine.
			err = newRegistryClient(registry, r.Developer.AccessToken).do(http.MethodPost, "/api/v1/auth/logout", nil,
				map[string]string{"refresh_token": r.Developer.RefreshToken}, nil)
			var apiErr *apiError
			if err != nil && !errors.As(err, &apiErr) {
				return fmt.Errorf("%w (the tokens are kept; run logout again when the registry is back)", err)
			}
			email := r.Developer.Email
			r.Developer = nil
			if err := creds.save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged out %s from %s\n", email, registry)
			return nil
		},
	}
	c.Flags().StringVar(&registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL (env SOVEREIGN_REGISTRY)")
	return c
}

// agentRows are the table rows of agents.
func agentRows(items []registryhttp.AgentView) [][]string {
	rows := make([][]string, 0, len(items))
	for _, a := range items {
		rows = append(rows, []string{a.ID, a.Status, when(a.LastHeartbeatAt), a.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return rows
}

func newAgentList() *cobra.Command {
	var (
		d      devFlags
		limit  int
		cursor string
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List your agents with their status and last heartbeat",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {fmt.Sprint(limit)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var page registryhttp.AgentPage
			if err := d.call(http.MethodGet, "/api/v1/agents?"+q.Encode(), nil, &page); err != nil {
				return err
			}
			return d.show(cmd, page, func(w io.Writer) {
				printTable(w, []string{"ID", "STATUS", "LAST HEARTBEAT", "CREATED"}, agentRows(page.Items))
				if page.NextCursor != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "more: sovereign agent list --cursor %s\n", page.NextCursor)
				}
			})
		},
	}
	d.bind(c, true)
	c.Flags().IntVar(&limit, "limit", 50, "how many, 1 to 500")
	c.Flags().StringVar(&cursor, "cursor", "", "the next page's cursor, from the previous page")
	return c
}

func newAgentShow() *cobra.Command {
	var d devFlags
	c := &cobra.Command{
		Use:   "show AGENT_ID",
		Short: "Show one of your agents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a registryhttp.AgentView
			if err := d.call(http.MethodGet, "/api/v1/agents/"+url.PathEscape(args[0]), nil, &a); err != nil {
				return err
			}
			return d.show(cmd, a, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, kv := range [][2]string{{"id", a.ID}, {"status", a.Status}, {"suspended by", orDash(a.SuspendedBy)},
					{"last heartbeat", when(a.LastHeartbeatAt)}, {"created", a.CreatedAt.UTC().Format(time.RFC3339)},
					{"developer", a.DeveloperID}, {"DID", a.DID}, {"SPIFFE ID", a.SPIFFEID}, {"client", a.ClientID}} {
					fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
				}
				_ = tw.Flush()
			})
		},
	}
	d.bind(c, true)
	return c
}

func newAgentBalance() *cobra.Command {
	var d devFlags
	c := &cobra.Command{
		Use:   "balance AGENT_ID",
		Short: "Show the wallet balances of one of your agents",
		Long: `balance reads the wallet of an agent you own, as its developer (an admin may read any). An agent
reads its own wallet with 'sovereign token balance --as AGENT_ID'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b registryhttp.AgentBalanceView
			if err := d.call(http.MethodGet, "/api/v1/agents/"+url.PathEscape(args[0])+"/balance", nil, &b); err != nil {
				return err
			}
			return d.show(cmd, b, func(w io.Writer) {
				fmt.Fprintf(w, "%s: liquid %s, locked %s, staked %s, unbonding %s, total %s AVT\n", b.Account, b.Liquid, b.Locked, b.Staked, b.Unbonding, b.Total)
			})
		},
	}
	d.bind(c, true)
	return c
}

func newAPIKey() *cobra.Command {
	c := &cobra.Command{Use: "apikey", Short: "Create, list and revoke your API keys"}
	var (
		create      devFlags
		name        string
		scopes      []string
		list        devFlags
		keyExpireIn time.Duration
	)
	cc := &cobra.Command{
		Use:   "create --name NAME [--scope read --scope write] [--expires-in 720h]",
		Short: "Create an API key (shown once); needs a login session, not another key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("--name is required: say where the key will live, e.g. --name laptop")
			}
			body := map[string]any{"name": name}
			if len(scopes) > 0 {
				body["scopes"] = scopes
			}
			if keyExpireIn > 0 {
				body["expires_at"] = time.Now().Add(keyExpireIn).UTC().Format(time.RFC3339)
			}
			var k struct {
				registryhttp.APIKeyView
				Key string `json:"key"`
			}
			if err := create.call(http.MethodPost, "/api/v1/developers/me/api-keys", body, &k); err != nil {
				return err
			}
			return create.show(cmd, k, func(w io.Writer) {
				fmt.Fprintf(w, "%s\n", k.Key)
				fmt.Fprintf(cmd.ErrOrStderr(), "API key %s (%s, scopes %s): shown only now; store it safely\n", k.ID, k.Name, strings.Join(k.Scopes, ","))
			})
		},
	}
	create.bind(cc, true)
	cc.Flags().StringVar(&name, "name", "", "a name to tell the key apart")
	cc.Flags().StringArrayVar(&scopes, "scope", nil, "read or write (repeatable; default both)")
	cc.Flags().DurationVar(&keyExpireIn, "expires-in", 0, "lifetime, e.g. 720h (default: no expiry)")

	lc := &cobra.Command{
		Use: "list", Short: "List your API keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var page registryhttp.APIKeyPage
			if err := list.call(http.MethodGet, "/api/v1/developers/me/api-keys?limit=500", nil, &page); err != nil {
				return err
			}
			return list.show(cmd, page, func(w io.Writer) {
				rows := make([][]string, 0, len(page.Items))
				for _, k := range page.Items {
					rows = append(rows, []string{k.ID, k.Name, k.Prefix + "…", strings.Join(k.Scopes, ","), k.Status, when(k.LastUsedAt), when(k.ExpiresAt)})
				}
				printTable(w, []string{"ID", "NAME", "KEY", "SCOPES", "STATUS", "LAST USED", "EXPIRES"}, rows)
			})
		},
	}
	list.bind(lc, true)

	c.AddCommand(cc, lc, newRevoke("revoke KEY_ID", "Revoke one of your API keys", "/api/v1/developers/me/api-keys/"))
	return c
}

// newRevoke is a "revoke ID" command: DELETE prefix+ID as the developer.
func newRevoke(use, short, prefix string) *cobra.Command {
	var d devFlags
	c := &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.call(http.MethodDelete, prefix+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return d.show(cmd, map[string]any{"id": args[0], "revoked": true}, func(w io.Writer) {
				fmt.Fprintf(w, "revoked %s\n", args[0])
			})
		},
	}
	d.bind(c, true)
	return c
}

func newBootstrapToken() *cobra.Command {
	c := &cobra.Command{
		Use:   "bootstrap-token",
		Short: "Single-use tokens that register one agent each (for an agent registered elsewhere)",
		Long: `A bootstrap token lets one agent register itself, on another machine, as yours: hand it to
'sovereign agent register --bootstrap-token TOKEN' (or agentvault) there. Tokens last 5 minutes and
are shown only when created.`,
	}
	var create, list devFlags
	cc := &cobra.Command{
		Use: "create", Short: "Create a bootstrap token (shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var t registryhttp.BootstrapTokenView
			if err := create.call(http.MethodPost, "/api/v1/onboard/bootstrap/request-token", nil, &t); err != nil {
				return err
			}
			return create.show(cmd, t, func(w io.Writer) {
				fmt.Fprintln(w, t.Token)
				fmt.Fprintf(cmd.ErrOrStderr(), "bootstrap token %s: single use, expires %s\n", t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
			})
		},
	}
	create.bind(cc, true)
	lc := &cobra.Command{
		Use: "list", Short: "List your outstanding bootstrap tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var l registryhttp.BootstrapTokenList
			if err := list.call(http.MethodGet, "/api/v1/onboard/bootstrap/tokens", nil, &l); err != nil {
				return err
			}
			return list.show(cmd, l, func(w io.Writer) {
				rows := make([][]string, 0, len(l.Items))
				for _, t := range l.Items {
					rows = append(rows, []string{t.ID, t.CreatedAt.UTC().Format(time.RFC3339), t.ExpiresAt.UTC().Format(time.RFC3339)})
				}
				printTable(w, []string{"ID", "CREATED", "EXPIRES"}, rows)
			})
		},
	}
	list.bind(lc, true)
	c.AddCommand(cc, lc, newRevoke("revoke TOKEN_ID", "Revoke an outstanding bootstrap token", "/api/v1/onboard/bootstrap/tokens/"))
	return c
}

func newAgentCard() *cobra.Command {
	var registry string
	c := &cobra.Command{
		Use:   "card AGENT_ID",
		Short: "Print an agent's A2A card as the registry serves it (a JSON document)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var card map[string]any
			if err := newRegistryClient(registry, "").do(http.MethodGet, "/agents/"+url.PathEscape(args[0])+"/.well-known/agent-card.json", nil, nil, &card); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), card)
		},
	}
	c.Flags().StringVar(&registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL (env SOVEREIGN_REGISTRY)")
	return c
}

// newAgentStatus is `agent suspend|reactivate|revoke ID`: POST /api/v1/agents/{id}/status as the
// agent's developer (or an admin).
func newAgentStatus(use, status, short string) *cobra.Command {
	var d devFlags
	c := &cobra.Command{
		Use:   use + " AGENT_ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a registryhttp.AgentView
			if err := d.call(http.MethodPost, "/api/v1/agents/"+url.PathEscape(args[0])+"/status", map[string]string{"status": status}, &a); err != nil {
				return err
			}
			return d.show(cmd, a, func(w io.Writer) { fmt.Fprintf(w, "%s is %s\n", a.ID, a.Status) })
		},
	}
	d.bind(c, true)
	return c
}
