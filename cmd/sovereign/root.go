package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/tlscert"
	"github.com/sovereign-stack/sovereign/tracing"
)

// flags are the configuration flags every command shares.
type flags struct {
	configFile   string
	data         string
	addr         string
	store        string
	redis        string
	storeReplica string
	publicURL    string
	logLevel     string
	policyDir    string
	policyBundle string
	serve        serveFlags // the split-mode commands' own flags (serve.go)
}

func newRoot() *cobra.Command {
	f := &flags{}
	root := &cobra.Command{
		Use:           "sovereign",
		Short:         "The Sovereign Stack: registry, token economy, identity and A2A for AI agents",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// The server's flags belong to the commands that run or open the stack, not to the client
	// commands (whose --registry says where the stack is).
	serverCmds := []*cobra.Command{newUp(f), newConfig(f), newMigrate(f), newDeveloper(f), withTegServe(newTeg(f), f), newRegistry(f), newBackup(f), newRestore(f)}
	for _, c := range serverCmds {
		f.bind(c)
	}
	root.AddCommand(serverCmds...)
	root.AddCommand(newVersion(), newPolicy(), newBench(), newToken(), newAgent(), newDiscover(), newLogin(), newRun(),
		newRegister(), newWhoami(), newLogout(), newAPIKey(), newBootstrapToken(), newCard(), newTemplate(),
		newStake(), newValidator(), newSim(), newReputation(),
		newGovern(), newAttest(), newDispute(), newAuditor(),
		newFederation(), newSoak())
	var caFile string
	root.PersistentFlags().StringVar(&caFile, "ca-file", "", "trust the CA certificates of this PEM file besides the system's for https calls, e.g. DATA/tls/cert.pem of up --tls (env "+caFileEnv+")")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return trustCAFile(caFile) }
	strict(root)
	return root
}

// caFileEnv names the CA file when --ca-file is not given.
const caFileEnv = "SOVEREIGN_CA_FILE"

// trustCAFile makes every HTTP client of the process that uses Go's default transport — all of
// the command line's — trust the certificates of caFile (or of $SOVEREIGN_CA_FILE) besides the
// system's roots. Nothing changes when neither is set.
func trustCAFile(caFile string) error {
	if caFile == "" {
		caFile = os.Getenv(caFileEnv)
	}
	if caFile == "" {
		return nil
	}
	tc, err := tlscert.ClientConfig(caFile)
	if err != nil {
		return fmt.Errorf("--ca-file: %w", err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tc
	http.DefaultTransport = t
	return nil
}

// bind adds the configuration flags to c and the commands below it.
func (f *flags) bind(c *cobra.Command) {
	pf := c.PersistentFlags()
	pf.StringVar(&f.configFile, "config", "", "YAML configuration file (env SOVEREIGN_CONFIG)")
	pf.StringVar(&f.data, "data", "", `data directory (default "./data"; env SOVEREIGN_DATA)`)
	pf.StringVar(&f.addr, "addr", "", `listen address (default "127.0.0.1:8420"; env SOVEREIGN_ADDR)`)
	pf.StringVar(&f.store, "store", "", "database DSN, sqlite:///path.db or postgres://… (default: DATA/sovereign.db; env SOVEREIGN_STORE)")
	pf.StringVar(&f.storeReplica, "store-replica", "", "DSN of a PostgreSQL hot standby for lists, histories and the discovery feed (env SOVEREIGN_STORE_REPLICA)")
	pf.StringVar(&f.redis, "redis", "", "redis://… for rate limits and caches shared by replicas (env SOVEREIGN_REDIS)")
	pf.StringVar(&f.publicURL, "public-url", "", "base URL users reach this server at (default http://ADDR; env SOVEREIGN_PUBLIC_URL)")
	pf.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (env SOVEREIGN_LOG_LEVEL)")
	pf.StringVar(&f.policyDir, "policy-dir", "", "use the *.rego policies of this directory, reloaded on change (env SOVEREIGN_POLICY_DIR)")
	pf.StringVar(&f.policyBundle, "policy-bundle", "", "use the OPA bundle (tar.gz) at this URL, polled with ETag (env SOVEREIGN_POLICY_BUNDLE)")
}

// load builds the effective configuration: defaults, YAML file, environment, then flags.
func (f *flags) load(cmd *cobra.Command) (config.Config, error) {
	c := config.Default()
	file := f.configFile
	if file == "" {
		file = os.Getenv("SOVEREIGN_CONFIG")
	}
	if file != "" {
		if err := c.LoadFile(file); err != nil {
			return c, err
		}
	}
	if err := c.LoadEnv(os.Environ()); err != nil {
		return c, err
	}
	set := func(name string, dst *string, v string) { setChanged(cmd, name, dst, v) }
	set("data", &c.Data, f.data)
	set("addr", &c.Addr, f.addr)
	set("store", &c.Store, f.store)
	set("redis", &c.Redis, f.redis)
	set("store-replica", &c.StoreReplica, f.storeReplica)
	set("public-url", &c.PublicURL, f.publicURL)
	set("log-level", &c.LogLevel, f.logLevel)
	set("policy-dir", &c.PolicyDir, f.policyDir)
	set("policy-bundle", &c.PolicyBundle, f.policyBundle)
	f.serve.apply(cmd, &c)
	if err := f.serve.applySelfSigned(cmd, &c); err != nil {
		return c, err
	}
	if err := c.Finish(); err != nil {
		return c, err
	}
	return c, nil
}

// setChanged stores v in *dst when flag name was given on cmd's command line.
func setChanged[T any](cmd *cobra.Command, name string, dst *T, v T) {
	if cmd.Flags().Changed(name) {
		*dst = v
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), buildinfo.String())
		},
	}
}

func newConfig(f *flags) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	c.AddCommand(&cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), cfg.Masked())
			return nil
		},
	})
	c.AddCommand(newConfigKeys()...) // set, get, list: the agentvault key store (config_keys.go)
	return c
}

// openStore loads the configuration and opens its store; the caller closes it.
func (f *flags) openStore(cmd *cobra.Command) (*store.DB, error) {
	cfg, err := f.load(cmd)
	if err != nil {
		return nil, err
	}
	return store.Open(cmd.Context(), cfg.Store, store.WithLogger(newLogger(cfg.LogLevel)))
}
