package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// credentials is what the command line remembers between runs, per registry: the developer's
// tokens (`sovereign login`) and the agents registered from this machine with their private
// keys and client credentials. It lives in one JSON file with 0600 permissions
// (SOVEREIGN_CREDENTIALS, default ~/.config/sovereign/credentials.json) until the agentvault key
// store replaces it.
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
	ID           string `json:"id"`
	DID          string `json:"did"`
	SPIFFEID     string `json:"spiffe_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// PrivateKey is the agent's Ed25519 private key (base64url of the 64-byte key).
	PrivateKey string `json:"private_key"`
	SVID       string `json:"svid,omitempty"`
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
