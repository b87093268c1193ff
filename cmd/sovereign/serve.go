package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/tlscert"
	"github.com/sovereign-stack/sovereign/tracing/provider"
)

// serveFlags are the flags of the split-mode commands: `teg serve` and
// `registry serve`. Each is set only by the command that defines it.
type serveFlags struct {
	mtlsAddr     string
	tegURL       string
	registryName string
	identityDir  string
	svidTTL      time.Duration
	// identityMode, spireServer and spireWorkload choose the issuer (modeFlags).
	identityMode  string
	spireServer   string
	spireWorkload string
	metricsAddr   string
	fedAddr       string
	// tlsCert and tlsKey serve the public listener over TLS; selfSigned (`up --tls`) makes
	// and keeps a self-signed pair in the data directory instead.
	tlsCert, tlsKey string
	selfSigned      bool
	otlpEndpoint    string
}

// apply overlays the serve flags given on cmd's command line onto c.
func (s *serveFlags) apply(cmd *cobra.Command, c *config.Config) {
	set := func(name string, dst *string, v string) { setChanged(cmd, name, dst, v) }
	set("mtls-addr", &c.MTLSAddr, s.mtlsAddr)
	set("teg-url", &c.TEGURL, s.tegURL)
	set("registry-name", &c.RegistryName, s.registryName)
	set("identity-dir", &c.IdentityDir, s.identityDir)
	set("identity-mode", &c.IdentityMode, s.identityMode)
	set("spire-server-socket", &c.SpireServerSocket, s.spireServer)
	set("spire-workload-socket", &c.SpireWorkloadSocket, s.spireWorkload)
	set("metrics-addr", &c.Metrics.Addr, s.metricsAddr)
	set("federation-addr", &c.Federation.Addr, s.fedAddr)
	set("tls-cert", &c.TLS.Cert, s.tlsCert)
	set("tls-key", &c.TLS.Key, s.tlsKey)
	set("otlp-endpoint", &c.Tracing.OTLPEndpoint, s.otlpEndpoint)
	setChanged(cmd, "svid-ttl", &c.SVIDTTL, s.svidTTL)
}

// selfSignedDir is the directory of `up --tls`'s self-signed key pair in the data directory.
const selfSignedDir = "tls"

// applySelfSigned points the TLS settings at the self-signed pair of the data directory when
// `up --tls` was given; it refuses --tls together with a certificate of the operator's.
func (s *serveFlags) applySelfSigned(cmd *cobra.Command, c *config.Config) error {
	if !s.selfSigned || !cmd.Flags().Changed("tls") {
		return nil
	}
	if c.TLS.Cert != "" || c.TLS.Key != "" {
		return errors.New("--tls makes a self-signed certificate; it excludes --tls-cert/--tls-key (tls.cert, SOVEREIGN_TLS_CERT), which serve your own")
	}
	dir := filepath.Join(c.Data, selfSignedDir)
	c.TLS.Cert, c.TLS.Key = filepath.Join(dir, tlscert.CertFileName), filepath.Join(dir, tlscert.KeyFileName)
	return nil
}

// identityFlags adds the flags both serve commands take.
func (s *serveFlags) identityFlags(c *cobra.Command) {
	c.Flags().StringVar(&s.identityDir, "identity-dir", "", "directory of the builtin CA (default DATA/identity; env SOVEREIGN_IDENTITY_DIR)")
	c.Flags().DurationVar(&s.svidTTL, "svid-ttl", 0, "lifetime of this service's X.509-SVIDs from the builtin CA, rotated at half of it (default 1h; env SOVEREIGN_SVID_TTL)")
	c.Flags().StringVar(&s.spireWorkload, "spire-workload-socket", "", "spire mode: the Workload API endpoint this service takes its SVID from, unix:///path/api.sock (default $SPIFFE_ENDPOINT_SOCKET; env SOVEREIGN_SPIRE_WORKLOAD_SOCKET)")
	s.modeFlags(c)
}

// modeFlags adds the identity-mode and metrics flags every serving command (up, teg serve,
// registry serve) takes.
func (s *serveFlags) modeFlags(c *cobra.Command) {
	c.Flags().StringVar(&s.metricsAddr, "metrics-addr", "", "listen address of the Prometheus metrics listener, e.g. 127.0.0.1:9420; "+
		"the public listener serves /metrics only with metrics.token (env SOVEREIGN_METRICS_ADDR)")
	c.Flags().StringVar(&s.fedAddr, "federation-addr", "", "registry: listen address of the federation listener (mutual TLS, peer registries only), e.g. 0.0.0.0:8443 (env SOVEREIGN_FEDERATION_ADDR)")
	c.Flags().StringVar(&s.otlpEndpoint, "otlp-endpoint", "", "OTLP/HTTP endpoint traces are exported to, e.g. http://127.0.0.1:4318 (default $OTEL_EXPORTER_OTLP_ENDPOINT; none: no export; env SOVEREIGN_TRACING_OTLP_ENDPOINT)")
	c.Flags().StringVar(&s.identityMode, "identity-mode", "", `where SVIDs come from: "builtin" (the embedded CA, default) or "spire" (env SOVEREIGN_IDENTITY_MODE)`)
	c.Flags().StringVar(&s.spireServer, "spire-server-socket", "", "spire mode: path of the SPIRE Server API socket, through which agent SVIDs are minted (env SOVEREIGN_SPIRE_SERVER_SOCKET)")
	c.Flags().StringVar(&s.tlsCert, "tls-cert", "", "serve the public listener over TLS 1.3 with this PEM certificate (chain), re-read when it changes; with --tls-key (env SOVEREIGN_TLS_CERT)")
	c.Flags().StringVar(&s.tlsKey, "tls-key", "", "PEM private key of --tls-cert (env SOVEREIGN_TLS_KEY)")
}

// withTegServe adds `serve` to the teg command.
func withTegServe(teg *cobra.Command, f *flags) *cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the TEG alone (split mode): token routes on --addr, and on --mtls-addr for the registry and agents",
		Long: `serve runs the token economy on its own database (split mode). It listens on --addr
(plain HTTP: agents with JWT-SVIDs, the admin key in DATA/admin.key) and on --mtls-addr (TLS 1.3 with
mutual authentication: clients must present an X.509-SVID of a registry or an agent of the trust
domain; the registry opens wallets and grants there). Its own SVID, spiffe://TD/teg, comes from the
builtin CA in --identity-dir and rotates at half its lifetime; with --identity-mode spire it comes
from the SPIFFE Workload API (--spire-workload-socket or SPIFFE_ENDPOINT_SOCKET) and SPIRE's
agent rotates it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if cfg.MTLSAddr == "" {
				return errors.New("teg serve: --mtls-addr is required (the registry reaches the TEG there)")
			}
			return serveRole(cmd, cfg, server.RoleTEG)
		},
	}
	c.Flags().StringVar(&f.serve.mtlsAddr, "mtls-addr", "", "listen address of the mTLS listener (env SOVEREIGN_MTLS_ADDR)")
	f.serve.identityFlags(c)
	teg.AddCommand(c)
	return teg
}

func newRegistry(f *flags) *cobra.Command {
	r := &cobra.Command{Use: "registry", Short: "The registry service"}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry alone (split mode), reaching the TEG at --teg-url over mTLS",
		Long: `serve runs the registry (accounts, agent cards, discovery, templates, portal, identity) on its own
database (split mode) and reaches the TEG at --teg-url (the TEG's mTLS listener) with
its own X.509-SVID, spiffe://TD/registry/NAME, from the builtin CA in --identity-dir, rotated at
half its lifetime — or, with --identity-mode spire, from the SPIFFE Workload API, while agent SVIDs
are minted through the SPIRE Server API (--spire-server-socket). /readyz reports whether the TEG
answers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			if cfg.TEGURL == "" {
				return errors.New("registry serve: --teg-url is required (https://HOST:PORT of the TEG's mTLS listener)")
			}
			return serveRole(cmd, cfg, server.RoleRegistry)
		},
	}
	c.Flags().StringVar(&f.serve.tegURL, "teg-url", "", "https URL of the TEG's mTLS listener (env SOVEREIGN_TEG_URL)")
	c.Flags().StringVar(&f.serve.registryName, "registry-name", "", `this registry's name in its SPIFFE ID (default "main"; env SOVEREIGN_REGISTRY_NAME)`)
	f.serve.identityFlags(c)
	r.AddCommand(c)
	return r
}

// installTracing installs the process's tracer provider (exporting to the configured OTLP
// endpoint, if any) and returns what flushes it at exit.
func installTracing(ctx context.Context, cfg config.Config, service string, log *slog.Logger) (func(), error) {
	pc := provider.Config{Endpoint: cfg.Tracing.OTLPEndpoint, ServiceName: service}
	shutdown, err := provider.Install(ctx, pc)
	if err != nil {
		return nil, err
	}
	if pc.Enabled() {
		log.Info("tracing: exporting spans over OTLP", "endpoint", cmp.Or(cfg.Tracing.OTLPEndpoint, os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")))
	}
	return func() {
		if err := shutdown(context.Background()); err != nil {
			log.Warn("tracing: flush spans at exit", "err", err)
		}
	}, nil
}

// serveRole runs one side of split mode until the command's context ends.
func serveRole(cmd *cobra.Command, cfg config.Config, role server.Role) error {
	start := time.Now()
	log := newLogger(cfg.LogLevel)
	ctx := cmd.Context()
	stopTracing, err := installTracing(ctx, cfg, "sovereign-"+string(role), log)
	if err != nil {
		return err
	}
	defer stopTracing()
	srv, err := server.New(ctx, server.Options{Config: cfg, Logger: log, Role: role})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	var mln net.Listener
	if role == server.RoleTEG {
		if mln, err = net.Listen("tcp", cfg.MTLSAddr); err != nil {
			ln.Close()
			return err
		}
	}
	metricsLn, err := listenMetrics(cfg)
	if err != nil {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s\n", buildinfo.String())
	base := listenURL(cfg, ln)
	startedEvent(log, string(role), base, cfg)
	checks, ready := srv.Readiness(ctx)
	if ready {
		fmt.Fprintf(out, "%s ready in %s on %s\n", role, time.Since(start).Round(time.Millisecond), base)
	} else {
		fmt.Fprintf(out, "%s listening on %s but NOT READY (/readyz answers 503):\n%s", role, base, notReady(checks, cfg))
		go announceReady(ctx, out, srv, role, start)
	}
	printTLS(out, cfg, nil)
	if mln != nil {
		fmt.Fprintf(out, "  mtls       https://%s (clients: registry and agent X.509-SVIDs)\n", mln.Addr())
	}
	if role == server.RoleRegistry {
		fmt.Fprintf(out, "  teg        %s\n", cfg.TEGURL)
	}
	fmt.Fprintf(out, "  spiffe id  %s\n", srv.ServiceID())
	if cfg.IdentityMode == config.IdentitySpire {
		fmt.Fprintf(out, "  identity   SPIRE: own SVID from the Workload API, agent SVIDs from the Server API at %s\n", cfg.SpireServerSocket)
	} else {
		fmt.Fprintf(out, "  identity   builtin CA in %s\n", cfg.IdentityDir)
	}
	fmt.Fprintf(out, "  store      %s\n", store.Redact(cfg.Store))
	printMetrics(out, cfg, metricsLn)
	keyFile := filepath.Join(cfg.Data, server.AdminKeyFile)
	if srv.AdminKey != "" {
		fmt.Fprintf(out, "  admin      %s, API key (shown once, saved to %s):\n             %s\n", cfg.AdminEmail, keyFile, srv.AdminKey)
	}

	serves := []func(context.Context) error{func(ctx context.Context) error { return srv.Serve(ctx, ln) }}
	if mln != nil {
		serves = append(serves, func(ctx context.Context) error { return srv.ServeMTLS(ctx, mln) })
	}
	if metricsLn != nil {
		serves = append(serves, func(ctx context.Context) error { return srv.ServeMetrics(ctx, metricsLn) })
	}
	if role == server.RoleRegistry {
		fs, err := listenFederation(out, cfg, srv)
		if err != nil {
			return err
		}
		serves = append(serves, fs...)
	}
	err = serveAll(ctx, serves...)
	log.Info("stopped", "role", string(role), "err", err)
	return err
}

// listenURL is the base URL of the public listener ln: https:// when it serves TLS.
func listenURL(cfg config.Config, ln net.Listener) string {
	if cfg.TLS.Enabled() {
		return "https://" + ln.Addr().String()
	}
	return "http://" + ln.Addr().String()
}

// printTLS says how the public listener is secured: the certificate's files, and for `up
// --tls`'s self-signed one (ss) its fingerprint and the file clients are to trust.
func printTLS(out io.Writer, cfg config.Config, ss *tlscert.SelfSigned) {
	switch {
	case ss != nil:
		certFile := ss.CertFile
		if abs, err := filepath.Abs(certFile); err == nil {
			certFile = abs
		}
		made := "kept from an earlier start"
		if ss.Created {
			made = "made now (" + ss.Reason + ")"
		}
		fmt.Fprintf(out, "  tls        TLS 1.3, self-signed certificate %s, for %s, until %s\n", made, strings.Join(ss.Hosts, ", "), ss.NotAfter.UTC().Format(time.DateOnly))
		fmt.Fprintf(out, "             SHA-256 fingerprint %s\n", ss.Fingerprint)
		fmt.Fprintf(out, "             trust it: --ca-file %s (or %s; curl --cacert %s)\n", certFile, caFileEnv, certFile)
	case cfg.TLS.Enabled():
		fmt.Fprintf(out, "  tls        TLS 1.3, certificate %s (re-read when it changes), HSTS on\n", cfg.TLS.Cert)
	}
}

// serveAll runs every serve function until ctx ends or one of them fails, which stops the
// others; it returns their errors joined.
func serveAll(ctx context.Context, serves ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(serves))
	for _, serve := range serves {
		go func() { errc <- serve(ctx) }()
	}
	var errs []error
	for range serves {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
		cancel() // one listener failing stops the others
	}
	return errors.Join(errs...)
}

// listenFederation opens the federation listener when federation.addr is set and says where
// it is; it returns the function serving it (none when unset).
func listenFederation(out io.Writer, cfg config.Config, srv *server.Server) ([]func(context.Context) error, error) {
	if cfg.Federation.Addr == "" {
		fmt.Fprintf(out, "  federation off (set --federation-addr or SOVEREIGN_FEDERATION_ADDR, e.g. 0.0.0.0:8443)\n")
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Federation.Addr)
	if err != nil {
		return nil, fmt.Errorf("federation listener: %w", err)
	}
	fmt.Fprintf(out, "  federation https://%s (mutual TLS: peer registries; bundle at /.well-known/spiffe-bundle)\n", ln.Addr())
	return []func(context.Context) error{func(ctx context.Context) error { return srv.ServeFederation(ctx, ln) }}, nil
}

// listenMetrics opens the metrics listener when metrics.addr is set (nil otherwise).
func listenMetrics(cfg config.Config) (net.Listener, error) {
	if cfg.Metrics.Addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Metrics.Addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	return ln, nil
}

// printMetrics says where Prometheus metrics are served.
func printMetrics(out io.Writer, cfg config.Config, ln net.Listener) {
	auth := ""
	if cfg.Metrics.Token != "" {
		auth = " (bearer metrics.token)"
	}
	switch {
	case ln != nil:
		fmt.Fprintf(out, "  metrics    http://%s/metrics%s\n", ln.Addr(), auth)
	case cfg.Metrics.Token != "":
		fmt.Fprintf(out, "  metrics    on the public listener at /metrics%s\n", auth)
	default:
		fmt.Fprintf(out, "  metrics    off (set --metrics-addr or SOVEREIGN_METRICS_ADDR, e.g. 127.0.0.1:9420)\n")
	}
}

// notReady says which dependencies failed and what to do about each.
func notReady(checks map[string]string, cfg config.Config) string {
	var b strings.Builder
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		why := checks[name]
		if why == "ok" || why == "loading" {
			continue
		}
		fmt.Fprintf(&b, "  %-10s %s\n", name, why)
		if next := readinessHint(name, why, cfg); next != "" {
			fmt.Fprintf(&b, "  next:      %s\n", next)
		}
	}
	return b.String()
}

// readinessHint is the next step for a failing dependency, when there is a usual cause.
func readinessHint(name, why string, cfg config.Config) string {
	switch {
	case name == "teg" && (strings.Contains(why, "unknown authority") || strings.Contains(why, "certificate")):
		return "the TEG's certificate is not from this registry's CA. With the builtin CA and separate --data folders, " +
			"each process made its own CA in DATA/identity: give both the same --identity-dir (e.g. --identity-dir ./identity), " +
			"or use SPIRE (identity_mode: spire). This registry's CA is in " + cfg.IdentityDir
	case name == "teg" && strings.Contains(why, "connection refused"):
		return "nothing listens at --teg-url " + cfg.TEGURL + ": start `sovereign teg serve --mtls-addr HOST:PORT` there"
	case name == "teg":
		return "check that `sovereign teg serve` runs at --teg-url " + cfg.TEGURL
	case name == "store":
		return "the database at --store is unreachable: is it running, and are the address and credentials right?"
	case name == "redis":
		return "Redis at --redis is unreachable: start it, or drop --redis to keep rate limits in memory"
	case name == "spire":
		return "the SPIRE Server API does not answer at --spire-server-socket " + cfg.SpireServerSocket
	}
	return ""
}

// announceReady polls the server's readiness until it holds (then says so once) or ctx ends.
func announceReady(ctx context.Context, out io.Writer, srv *server.Server, role server.Role, start time.Time) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, ok := srv.Readiness(ctx); ok {
				fmt.Fprintf(out, "%s ready after %s\n", role, time.Since(start).Round(time.Second))
				return
			}
		}
	}
}

// startedEvent logs the start-up banner's facts as one JSON event, for log pipelines that do not
// read standard output.
func startedEvent(log *slog.Logger, role, base string, cfg config.Config) {
	log.Info("started", "version", buildinfo.Version, "build", buildinfo.String(), "role", role, "address", base,
		"store", store.Redact(cfg.Store), "trust_domain", cfg.TrustDomain, "identity_mode", string(cfg.IdentityMode))
}
