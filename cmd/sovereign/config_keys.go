package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/agentvault"
)

// keyStoreFlags select the agentvault key store of the `config set|get|list` and `run`
// commands: the key file (--key-file, env AGENTVAULT_KEYS_FILE, default
// ~/.config/agentvault/keys.json) and, opted in, the OS keyring.
type keyStoreFlags struct {
	keyFile string
	keyring bool
}

func (k *keyStoreFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&k.keyFile, "key-file", "", "agentvault key file (env "+agentvault.KeyFileEnv+"; default ~/.config/agentvault/keys.json)")
	c.Flags().BoolVar(&k.keyring, "keyring", false, "use the OS keyring too (env "+agentvault.KeyringEnv+"=1)")
}

// file is the key file store.
func (k *keyStoreFlags) file() (*agentvault.FileStore, error) {
	path := k.keyFile
	if path == "" {
		var err error
		if path, err = agentvault.DefaultKeyFile(); err != nil {
			return nil, err
		}
	}
	return agentvault.NewFileStore(path), nil
}

// chain is the key store lookups go through: file, then environment, then (opted in) keyring.
func (k *keyStoreFlags) chain() (*agentvault.ChainStore, error) {
	f, err := k.file()
	if err != nil {
		return nil, err
	}
	stores := []agentvault.KeyStore{f, agentvault.EnvStore{}}
	if v := strings.ToLower(envOr(agentvault.KeyringEnv, "")); k.keyring || v == "1" || v == "true" {
		stores = append(stores, agentvault.KeyringStore{})
	}
	return agentvault.NewChainStore(stores...), nil
}

// fieldAliases are the short names --field accepts besides the field names themselves.
var fieldAliases = map[string]agentvault.Field{
	"key": agentvault.FieldAPIKey, "api-key": agentvault.FieldAPIKey,
	"client-id": agentvault.FieldClientID, "client_id": agentvault.FieldClientID,
	"client-secret": agentvault.FieldClientSecret, "client_secret": agentvault.FieldClientSecret,
	"agent-key": agentvault.FieldAgentKey, "spiffe-id": agentvault.FieldSPIFFEID,
}

func parseField(s string) (agentvault.Field, error) {
	if f, ok := fieldAliases[strings.ToLower(s)]; ok {
		return f, nil
	}
	if f := agentvault.Field(s); f.Valid() {
		return f, nil
	}
	return "", fmt.Errorf("--field %q: want one of %v (or key, client-id, client-secret)", s, agentvault.Fields)
}

// maskSecret shows the first characters of a secret (its prefix, e.g. avreg_) and its length.
func maskSecret(v string) string {
	const show = 6
	if len(v) <= show+4 {
		return strings.Repeat("*", len(v))
	}
	return fmt.Sprintf("%s… (%d characters)", v[:show], len(v))
}

// newConfigKeys returns the key-store subcommands of `config`: set, get and list.
func newConfigKeys() []*cobra.Command {
	return []*cobra.Command{newConfigSet(), newConfigGet(), newConfigList()}
}

func newConfigSet() *cobra.Command {
	var (
		k     keyStoreFlags
		field string
	)
	c := &cobra.Command{
		Use:   "set ID [VALUE]",
		Short: "Keep a key for an agent or service in the agentvault key store",
		Long: `set keeps a secret for ID — an agent id (agt_…), an agent's card name or URL host, or a
service id — in the agentvault key file (mode 0600), or with --keyring in the OS keyring. --field
says which: api_key (default; sent to that agent as its card's API-key header),
oauth_client_id, oauth_client_secret, agent_key (an agent's Ed25519 key) or spiffe_id. The value
is read from standard input when not given, so it stays out of the shell history and the process
list. Environment variables (AGENTVAULT_KEY_<ID>, AGENTVAULT_OAUTH_<ID>_CLIENT_ID|_CLIENT_SECRET)
are read as well but rank below the file.`,
		Example: `  echo -n "$KEY" | sovereign config set agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C
  sovereign config set weather.example.com --field api_key < key.txt
  sovereign config set my-agent --field client-secret --keyring`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parseField(field)
			if err != nil {
				return err
			}
			value := ""
			if len(args) == 2 {
				value = args[1]
			} else {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("no value: give it as an argument or on standard input (%w)", err)
				}
				value = strings.TrimRight(line, "\r\n")
			}
			if value == "" {
				return errors.New("the value is empty")
			}
			var store agentvault.KeyStore
			where := "the OS keyring"
			if k.keyring {
				store = agentvault.KeyringStore{}
			} else {
				fs, err := k.file()
				if err != nil {
					return err
				}
				store, where = fs, fs.Path()
			}
			if err := store.Set(cmd.Context(), args[0], f, value); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s saved in %s\n", args[0], f, where)
			return nil
		},
	}
	k.bind(c)
	c.Flags().StringVar(&field, "field", string(agentvault.FieldAPIKey), "which secret: api_key, oauth_client_id, oauth_client_secret, agent_key, spiffe_id")
	return c
}

func newConfigGet() *cobra.Command {
	var (
		k     keyStoreFlags
		field string
		show  bool
	)
	c := &cobra.Command{
		Use:   "get ID",
		Short: "Show where a key for ID comes from (masked unless --show)",
		Long: `get looks a key up the way agents and 'sovereign run' do — the key file first, then the
environment, then (with --keyring) the OS keyring — and prints the source and the value, masked
unless --show. It fails when no store has it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parseField(field)
			if err != nil {
				return err
			}
			chain, err := k.chain()
			if err != nil {
				return err
			}
			v, src, err := chain.Lookup(cmd.Context(), args[0], f)
			if errors.Is(err, agentvault.ErrNotFound) {
				where := "the key file or the environment (" + agentvault.EnvName(args[0], f) + ")"
				if len(chain.Stores()) > 2 {
					where += " or the keyring"
				}
				return fmt.Errorf("no %s for %s in %s", f, args[0], where)
			}
			if err != nil {
				return err
			}
			if !show {
				v = maskSecret(v)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s): %s\n", args[0], f, src, v)
			return nil
		},
	}
	k.bind(c)
	c.Flags().StringVar(&field, "field", string(agentvault.FieldAPIKey), "which secret: api_key, oauth_client_id, oauth_client_secret, agent_key, spiffe_id")
	c.Flags().BoolVar(&show, "show", false, "print the value itself")
	return c
}

func newConfigList() *cobra.Command {
	var k keyStoreFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "List the keys in the key file and the environment (no values)",
		Long: `list prints the id, field and source of every key in the key file and in AGENTVAULT_*
environment variables (whose ids are upper-cased by their names). The OS keyring cannot be
enumerated; use 'config get --keyring' for a key kept there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			chain, err := k.chain()
			if err != nil {
				return err
			}
			entries, err := chain.List(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(entries) == 0 {
				fmt.Fprintln(out, "no keys")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tFIELD\tSOURCE")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", e.ID, e.Field, e.Source)
			}
			return tw.Flush()
		},
	}
	k.bind(c)
	return c
}
