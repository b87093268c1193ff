package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/agentvault"
)

// credentials is what the command line remembers between runs, per registry: the developer's
// tokens (`sovereign login`), the agents registered from this machine (ids, DIDs, SPIFFE IDs,
// client ids) and which one the agent-side commands act as. It lives in one JSON file with 0600
// permissions (SOVEREIGN_CREDENTIALS, default ~/.config/sovereign/credentials.json). The agents'
// secrets — private keys and client secrets — are in the agentvault key store (its file:
// AGENTVAULT_KEYS_FILE, default ~/.config/agentvault/keys.json), where agentvault and
// `sovereign run --as`/`config get` find them too.
type credentials struct {
	Registries map[string]*registryCreds `json:"registries"`
	path       string
}

type registryCreds struct {
	Developer *developerCreds        `json:"developer,omitempty"`
	Agents    map[string]*agentCreds `json:"agents,omitempty"`
	// Current is the agent the agent-side commands act as.
	Current string `json:"current,omitempty"`
}

type developerCreds struct {
	Email        string    `json:"email"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

type agentCreds struct {
	ID       string `json:"id"`
	DID      string `json:"did"`
	SPIFFEID string `json:"spiffe_id"`
	ClientID string `json:"client_id"`
	// ClientSecret lives in the key store (loadSecrets, saveSecret), with the agent's key,
	// never in this file.
	ClientSecret string `json:"-"`
	// AccessToken is the agent's last JWT-SVID from the token endpoint, reused until shortly
	// before TokenExpiresAt, so that a run of commands does not spend the endpoint's rate limit
	// (a bearer secret like the developer's tokens above, in the same 0600 file).
	AccessToken    string    `json:"access_token,omitempty"`
	TokenExpiresAt time.Time `json:"token_expires_at,omitempty"`
}

// keyStore is the agentvault file key store the agents' secrets are kept in.
func keyStore() (*agentvault.FileStore, error) {
	path, err := agentvault.DefaultKeyFile()
	if err != nil {
		return nil, err
	}
	return agentvault.NewFileStore(path), nil
}

// saveSecret replaces the agent's client secret, in the key store and in a.
func (a *agentCreds) saveSecret(ctx context.Context, secret string) error {
	ks, err := keyStore()
	if err != nil {
		return err
	}
	if err := ks.Set(ctx, a.ID, agentvault.FieldClientSecret, secret); err != nil {
		return err
	}
	a.ClientSecret = secret
	return nil
}

// tokenSource is the agent's token source at registry, from its client credentials.
func (a *agentCreds) tokenSource(registry string) *agentvault.TokenSource {
	return agentvault.NewTokenSource(registry, a.ClientID, a.ClientSecret)
}

// loadSecrets reads the agent's client secret (and client id, when not recorded) from the key
// store.
func (a *agentCreds) loadSecrets(ctx context.Context) error {
	ks, err := keyStore()
	if err != nil {
		return err
	}
	if a.ClientSecret, err = ks.Get(ctx, a.ID, agentvault.FieldClientSecret); err != nil {
		return fmt.Errorf("the client secret of %s (key store %s): %w", a.ID, ks.Path(), err)
	}
	if a.ClientID == "" {
		if a.ClientID, err = ks.Get(ctx, a.ID, agentvault.FieldClientID); err != nil {
			return fmt.Errorf("the client id of %s: %w", a.ID, err)
		}
	}
	return nil
}

// credentialsPath is where the credentials file is.
func credentialsPath() (string, error) {
	if p := os.Getenv("SOVEREIGN_CREDENTIALS"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the credentials file (set SOVEREIGN_CREDENTIALS): %w", err)
	}
	return filepath.Join(dir, "sovereign", "credentials.json"), nil
}

// loadCredentials reads the credentials file (an empty set when there is none). A file others
// can read is refused: it holds secrets.
func loadCredentials() (*credentials, error) {
	path, err := credentialsPath()
	if err != nil {
		return nil, err
	}
	c := &credentials{Registries: map[string]*registryCreds{}, path: path}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Registries == nil {
		c.Registries = map[string]*registryCreds{}
	}
	return c, nil
}

// save writes the file atomically with 0600 permissions.
func (c *credentials) save() error {
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
}

// registry returns the entry of a registry URL, creating it.
func (c *credentials) registry(url string) *registryCreds {
	key := strings.TrimRight(url, "/")
	r := c.Registries[key]
	if r == nil {
		r = &registryCreds{Agents: map[string]*agentCreds{}}
		c.Registries[key] = r
	}
	if r.Agents == nil {
		r.Agents = map[string]*agentCreds{}
	}
	return r
}
