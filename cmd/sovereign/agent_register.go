package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
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
		token            string
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
			card, err := os.ReadFile(cardFile)
			if err != nil {
				return err
			}
			if !json.Valid(card) {
				return fmt.Errorf("%s is not JSON", cardFile)
			}
			priv, err := agentKey(keyPEM)
			if err != nil {
				return err
			}
			dev, err := developerToken(f.registry, token)
			if err != nil {
				return err
			}
			api := newRegistryClient(f.registry, dev)
			var bt struct {
				Token string `json:"token"`
			}
			if err := api.do(http.MethodPost, "/api/v1/onboard/bootstrap/request-token", nil, nil, &bt); err != nil {
				return err
			}
			pub := priv.Public().(ed25519.PublicKey)
			body := map[string]any{"card": json.RawMessage(card),
				"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
				"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(bt.Token)))}
			var reg struct {
				AgentID      string `json:"agent_id"`
				DID          string `json:"did"`
				SPIFFEID     string `json:"spiffe_id"`
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
			anon := &apiClient{base: f.registry, http: api.http}
			if err := anon.do(http.MethodPost, "/api/v1/onboard/register", map[string]string{"Bootstrap-Token": bt.Token}, body, &reg); err != nil {
				return err
			}
			creds, err := loadCredentials()
			if err != nil {
				return err
			}
			r := creds.registry(f.registry)
			a := &agentCreds{ID: reg.AgentID, DID: reg.DID, SPIFFEID: reg.SPIFFEID, ClientID: reg.ClientID,
				ClientSecret: reg.ClientSecret, PrivateKey: base64.RawURLEncoding.EncodeToString(priv)}
			if err := a.saveSecrets(cmd.Context()); err != nil {
				return fmt.Errorf("the agent %s is registered but its key and secret could not be saved (client %s, secret %s): %w", reg.AgentID, reg.ClientID, reg.ClientSecret, err)
			}
			r.Agents[reg.AgentID] = a
			r.Current = reg.AgentID
			if err := creds.save(); err != nil {
				return fmt.Errorf("the agent %s is registered but could not be recorded: %w", reg.AgentID, err)
			}
			ks, _ := keyStore()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "agent     %s\nDID       %s\nSPIFFE ID %s\nclient    %s (key and secret saved in %s)\n", reg.AgentID, reg.DID, reg.SPIFFEID, reg.ClientID, ks.Path())
			return nil
		},
	}
	f.bind(c)
	c.Flags().StringVar(&cardFile, "card", "", "the agent's A2A card (JSON file)")
	c.Flags().StringVar(&keyPEM, "key", "", "the agent's Ed25519 private key (PKCS#8 PEM); default a new key")
	c.Flags().StringVar(&token, "token", "", "developer access token or API key (default SOVEREIGN_TOKEN, then 'sovereign login')")
	return c
}

// agentKey reads an Ed25519 key from a PKCS#8 PEM file, or makes a new one when path is empty.
func agentKey(path string) (ed25519.PrivateKey, error) {
	if path == "" {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
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
	return priv, nil
}

// agentClient is an API client authenticated as a stored agent (a fresh JWT-SVID from its client
// credentials).
func agentClient(registry, agentID string) (*apiClient, *agentCreds, error) {
	creds, err := loadCredentials()
	if err != nil {
		return nil, nil, err
	}
	r := creds.registry(registry)
	if agentID == "" {
		agentID = r.Current
	}
	a := r.Agents[agentID]
	if a == nil {
		return nil, nil, fmt.Errorf("no stored agent %q for %s: run 'sovereign agent register' first", agentID, registry)
	}
	if err := a.loadSecrets(context.Background()); err != nil {
		return nil, nil, err
	}
	api := newRegistryClient(registry, "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := api.do(http.MethodPost, "/api/v1/auth/agent/token", nil, map[string]string{"grant_type": "client_credentials",
		"client_id": a.ClientID, "client_secret": a.ClientSecret}, &tok); err != nil {
		return nil, nil, err
	}
	api.credential = tok.AccessToken
	return api, a, nil
}

func newAgentHeartbeat() *cobra.Command {
	var f agentFlags
	c := &cobra.Command{
		Use:   "heartbeat [--agent ID] [--registry URL]",
		Short: "Tell the registry a stored agent is alive",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, a, err := agentClient(f.registry, f.agent)
			if err != nil {
				return err
			}
			var out struct {
				LastHeartbeatAt time.Time `json:"last_heartbeat_at"`
			}
			if err := api.do(http.MethodPost, "/api/v1/agents/me/heartbeat", nil, nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s alive at %s\n", a.ID, out.LastHeartbeatAt.Format(time.RFC3339))
			return nil
		},
	}
	f.bind(c)
	return c
}

func newAgentRotate() *cobra.Command {
	var f agentFlags
	c := &cobra.Command{
		Use:   "rotate [--agent ID] [--registry URL]",
		Short: "Replace a stored agent's client secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, a, err := agentClient(f.registry, f.agent)
			if err != nil {
				return err
			}
			var out struct {
				ClientSecret string `json:"client_secret"`
			}
			if err := api.do(http.MethodPost, "/api/v1/agents/me/secret", nil, nil, &out); err != nil {
				return err
			}
			a.ClientSecret = out.ClientSecret
			if err := a.saveSecrets(cmd.Context()); err != nil {
				return fmt.Errorf("the secret was rotated but could not be saved (the new one is %s): %w", out.ClientSecret, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s has a new client secret (saved)\n", a.ID)
			return nil
		},
	}
	f.bind(c)
	return c
}
