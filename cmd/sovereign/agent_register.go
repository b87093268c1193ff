package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/agentvault"
)

// agentFlags are the connection flags of the agent-side commands.
type agentFlags struct {
	registry, agent string
}

func (f *agentFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL (env SOVEREIGN_REGISTRY)")
	c.Flags().StringVar(&f.agent, "agent", "", "agent id (default: the last registered)")
}

func newAgentRegister() *cobra.Command {
	var (
		f                agentFlags
		cardFile, keyPEM string
		token, bootstrap string
		asJSON, quiet    bool
	)
	c := &cobra.Command{
		Use:   "register --card FILE [--key FILE] [--registry URL] [--token DEVELOPER_JWT]",
		Short: "Register an agent: bootstrap token, identity, credentials, funded wallet",
		Long: `register runs the bootstrap protocol for the card in FILE: with the developer's credential
(--token, SOVEREIGN_TOKEN, or 'sovereign login') it asks the registry for a single-use bootstrap
token, proves the agent's Ed25519 key (from --key, a PKCS#8 PEM file, or a new one), and registers.
The agent's id, DID and SPIFFE ID are printed; its key and client credentials are kept in the
credentials file (mode 0600), and later agent commands ('agent heartbeat', 'agent rotate',
'token balance') act as it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cardFile == "" {
				return errors.New("--card is required")
			}
			card, err := readCardFile(cardFile)
			if err != nil {
				return err
			}
			ident, err := agentIdentity(keyPEM)
			if err != nil {
				return err
			}
			var cred agentvault.Credential = agentvault.BearerToken("")
			if bootstrap == "" {
				dev, err := developerToken(f.registry, token)
				if err != nil {
					return err
				}
				cred = agentvault.BearerToken(dev)
			}
			ks, err := keyStore()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			reg, err := agentvault.NewRegistry(f.registry, cred).Register(ctx, card, agentvault.RegisterOptions{Identity: ident, BootstrapToken: bootstrap})
			if err != nil {
				return err
			}
			id := reg.Identity
			if err := reg.Save(ctx, ks); err != nil {
				return fmt.Errorf("the agent %s is registered but its key and secret could not be saved (client %s, secret %s): %w", id.ID, reg.ClientID, reg.ClientSecret, err)
			}
			creds, err := loadCredentials()
			if err != nil {
				return err
			}
			r := creds.registry(f.registry)
			r.Agents[id.ID] = &agentCreds{ID: id.ID, DID: id.DID, SPIFFEID: id.SPIFFEID, ClientID: reg.ClientID}
			r.Current = id.ID
			if err := creds.save(); err != nil {
				return fmt.Errorf("the agent %s is registered but could not be recorded: %w", id.ID, err)
			}
			out := cmd.OutOrStdout()
			switch {
			case quiet:
				fmt.Fprintln(out, id.ID)
				return nil
			case asJSON:
				return printJSON(out, registeredAgent{ID: id.ID, DID: id.DID, SPIFFEID: id.SPIFFEID, ClientID: reg.ClientID,
					KeyStore: ks.Path(), Grant: reg.Grant, GrantReason: reg.GrantReason})
			}
			fmt.Fprintf(out, "agent     %s\nDID       %s\nSPIFFE ID %s\nclient    %s (key and secret saved in %s)\n", id.ID, id.DID, id.SPIFFEID, reg.ClientID, ks.Path())
			if reg.Grant != "" {
				grant := reg.Grant + " AVT"
				if reg.GrantReason != "" {
					grant += " (" + reg.GrantReason + ")"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "grant     %s\n", grant)
			}
			return nil
		},
	}
	f.bind(c)
	c.Flags().StringVar(&cardFile, "card", "", "the agent's A2A card (JSON file)")
	c.Flags().StringVar(&keyPEM, "key", "", "the agent's Ed25519 private key (PKCS#8 PEM); default a new key")
	c.Flags().StringVar(&token, "token", "", "developer access token or API key (default SOVEREIGN_TOKEN, then 'sovereign login')")
	c.Flags().StringVar(&bootstrap, "bootstrap-token", "", "a bootstrap token (bst_…) from 'sovereign bootstrap-token create', made elsewhere: no developer credential needed here")
	c.MarkFlagsMutuallyExclusive("token", "bootstrap-token")
	c.Flags().BoolVar(&asJSON, "json", false, "print the registration as JSON (id, did, spiffe_id, client_id, key_store, grant)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the agent's id (for AGENT=$(sovereign agent register … -q))")
	c.MarkFlagsMutuallyExclusive("json", "quiet")
	return c
}

// registeredAgent is what 'agent register --json' prints.
type registeredAgent struct {
	ID          string `json:"id"`
	DID         string `json:"did"`
	SPIFFEID    string `json:"spiffe_id"`
	ClientID    string `json:"client_id"`
	KeyStore    string `json:"key_store"`
	Grant       string `json:"grant,omitempty"`
	GrantReason string `json:"grant_reason,omitempty"`
}

// agentIdentity reads the agent's Ed25519 key from a PKCS#8 PEM file; an empty path gives nil,
// for which registration makes a new key.
func agentIdentity(path string) (*agentvault.Identity, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return agentvault.IdentityFromKey(priv), nil
}

// storedAgent is the agent stored for registry (agentID, or the current one when empty) with
// its client credentials from the key store.
func storedAgent(ctx context.Context, registry, agentID string) (*agentCreds, error) {
	creds, err := loadCredentials()
	if err != nil {
		return nil, err
	}
	r := creds.registry(registry)
	if agentID == "" {
		agentID = r.Current
	}
	a := r.Agents[agentID]
	if a == nil {
		return nil, fmt.Errorf("no stored agent %q for %s: run 'sovereign agent register' first", agentID, registry)
	}
	if err := a.loadSecrets(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// agentClient is an API client authenticated as a stored agent (a fresh JWT-SVID from its client
// credentials).
func agentClient(registry, agentID string) (*apiClient, *agentCreds, error) {
	ctx := context.Background()
	a, err := storedAgent(ctx, registry, agentID)
	if err != nil {
		return nil, nil, err
	}
	tok, err := a.token(ctx, registry)
	if err != nil {
		return nil, nil, err
	}
	c := newRegistryClient(registry, tok)
	c.self = a.ID
	return c, a, nil
}

// agentRegistry is a registry client acting as a stored agent.
func agentRegistry(ctx context.Context, registry, agentID string) (*agentvault.Registry, *agentCreds, error) {
	a, err := storedAgent(ctx, registry, agentID)
	if err != nil {
		return nil, nil, err
	}
	return agentvault.NewRegistry(registry, a.tokenSource(registry)), a, nil
}

func newAgentHeartbeat() *cobra.Command {
	var (
		f     agentFlags
		every time.Duration
	)
	c := &cobra.Command{
		Use:   "heartbeat [--agent ID] [--registry URL] [--every DURATION]",
		Short: "Tell the registry a stored agent is alive (once, or --every DURATION until interrupted)",
		Long: `heartbeat tells the registry that a stored agent is alive. The registry expects a heartbeat
every heartbeat interval (onboarding.heartbeat_interval, 1 minute by default) and marks an agent
silent for three intervals inactive: discovery no longer lists it by default. Its next heartbeat
makes it active again. Agents built on agentvault.Agent heartbeat by themselves; for any other,
--every DURATION (e.g. 30s, half the registry's interval) keeps heartbeating until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if every < 0 {
				return fmt.Errorf("--every %v: must be a positive duration (e.g. 30s), or 0 for one heartbeat", every)
			}
			ctx := cmd.Context()
			a, err := storedAgent(ctx, f.registry, f.agent)
			if err != nil {
				return err
			}
			ts := a.tokenSource(f.registry)
			reg := agentvault.NewRegistry(f.registry, ts)
			out := cmd.OutOrStdout()
			report := func(info *agentvault.AgentInfo) {
				var at time.Time
				if info.LastHeartbeatAt != nil {
					at = *info.LastHeartbeatAt
				}
				fmt.Fprintf(out, "%s alive at %s\n", a.ID, at.Format(time.RFC3339))
			}
			if every == 0 {
				info, err := reg.Heartbeat(ctx)
				if err != nil {
					return err
				}
				report(info)
				return nil
			}
			// Keep going through failures (the registry may restart); stop at the first
			// refusal that another try cannot change.
			hctx, stop := context.WithCancelCause(ctx)
			defer stop(nil)
			hb := &agentvault.Heartbeater{Registry: reg, Credential: ts, Interval: every, AgentID: a.ID,
				Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
				OnBeat: func(info *agentvault.AgentInfo, err error) {
					var apiErr *agentvault.APIError
					switch {
					case err == nil:
						report(info)
					case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden:
						stop(err)
					}
				}}
			hb.Run(hctx)
			if ctx.Err() != nil {
				return nil // interrupted: the normal end
			}
			return context.Cause(hctx)
		},
	}
	f.bind(c)
	c.Flags().DurationVar(&every, "every", 0, "keep heartbeating at this period (e.g. 30s) until interrupted; 0 sends one")
	return c
}

func newAgentRotate() *cobra.Command {
	var f agentFlags
	c := &cobra.Command{
		Use:   "rotate [--agent ID] [--registry URL]",
		Short: "Replace a stored agent's client secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			reg, a, err := agentRegistry(ctx, f.registry, f.agent)
			if err != nil {
				return err
			}
			secret, err := reg.RotateSecret(ctx)
			if err != nil {
				return err
			}
			if err := a.saveSecret(ctx, secret); err != nil {
				return fmt.Errorf("the secret was rotated but could not be saved (the new one is %s): %w", secret, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s has a new client secret (saved)\n", a.ID)
			return nil
		},
	}
	f.bind(c)
	return c
}

// token is a JWT-SVID of the agent: the one remembered in the credentials file while it has
// more than 30 seconds to live, else a new one from its client credentials (then remembered).
func (a *agentCreds) token(ctx context.Context, registry string) (string, error) {
	if a.AccessToken != "" && time.Now().Before(a.TokenExpiresAt.Add(-30*time.Second)) {
		return a.AccessToken, nil
	}
	tok, err := a.tokenSource(registry).Token(ctx)
	if err != nil {
		return "", err
	}
	exp, ok := jwtExpiry(tok)
	if !ok {
		return tok, nil // not a JWT we can read: use it once, remember nothing
	}
	creds, err := loadCredentials()
	if err != nil {
		return tok, nil
	}
	if stored := creds.registry(registry).Agents[a.ID]; stored != nil {
		stored.AccessToken, stored.TokenExpiresAt = tok, exp
		_ = creds.save() // a cache: failing to remember costs only a new token next time
	}
	return tok, nil
}

// jwtExpiry reads the exp claim of a JWT (unverified: only to know when to ask for a new one).
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(claims.Exp, 0), true
}

// readCardFile reads an A2A card from path: a missing, empty or non-JSON file is said so.
func readCardFile(path string) ([]byte, error) {
	card, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(card)) == 0 {
		return nil, fmt.Errorf("%s is empty: write the agent's card there first (e.g. curl -sf http://HOST/.well-known/agent-card.json > %s)", path, path)
	}
	if !json.Valid(card) {
		return nil, fmt.Errorf("%s is not JSON: an A2A agent card is a JSON document", path)
	}
	return card, nil
}
