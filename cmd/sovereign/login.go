package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/tracing"
)

func newLogin() *cobra.Command {
	var registry, email string
	var passwordStdin bool
	c := &cobra.Command{
		Use:   "login --email EMAIL [--password-stdin] [--registry URL]",
		Short: "Log in as a developer and remember the tokens",
		Long: `login exchanges a developer's email and password for an access token and a refresh token and
keeps them in the credentials file (SOVEREIGN_CREDENTIALS, default ~/.config/sovereign/credentials.json,
mode 0600), where 'sovereign agent register' finds them. The password is asked for on a terminal, or
comes from SOVEREIGN_PASSWORD or standard input with --password-stdin (never from a flag, which other
users could see).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return errors.New("--email is required")
			}
			pw, err := readPassword(cmd, passwordStdin)
			if err != nil {
				return err
			}
			var tok developerCreds // the token pair of the answer
			if err := newRegistryClient(registry, "").do(http.MethodPost, "/api/v1/auth/login", nil, map[string]string{"email": email, "password": pw}, &tok); err != nil {
				return err
			}
			tok.Email = email
			creds, err := loadCredentials()
			if err != nil {
				return err
			}
			creds.registry(registry).Developer = &tok
			if err := creds.save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s (tokens saved in %s)\n", registry, email, creds.path)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "registry base URL (env SOVEREIGN_REGISTRY)")
	f.StringVar(&email, "email", "", "your developer account's email")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return c
}

// newRegistryClient is an API client for the registry at base sending credential (none when
// empty), with the command line's 30-second request timeout.
func newRegistryClient(base, credential string) *apiClient {
	return &apiClient{base: base, credential: credential, http: tracing.Client(30 * time.Second)}
}

// developerToken is the developer credential for registry: --token, SOVEREIGN_TOKEN, or the
// logged-in tokens (refreshed when the access token has expired).
func developerToken(registry, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if t := os.Getenv("SOVEREIGN_TOKEN"); t != "" {
		return t, nil
	}
	creds, err := loadCredentials()
	if err != nil {
		return "", err
	}
	d := creds.registry(registry).Developer
	if d == nil {
		return "", fmt.Errorf("no developer credential for %s: run 'sovereign login --email …', or pass --token / set SOVEREIGN_TOKEN", registry)
	}
	if time.Now().Before(d.ExpiresAt.Add(-30 * time.Second)) {
		return d.AccessToken, nil
	}
	var tok developerCreds // the token pair; Email is not in the answer
	if err := newRegistryClient(registry, "").do(http.MethodPost, "/api/v1/auth/refresh", nil, map[string]string{"refresh_token": d.RefreshToken}, &tok); err != nil {
		return "", fmt.Errorf("refreshing the login (run 'sovereign login' again): %w", err)
	}
	d.AccessToken, d.RefreshToken, d.ExpiresAt = tok.AccessToken, tok.RefreshToken, tok.ExpiresAt
	return d.AccessToken, creds.save()
}
