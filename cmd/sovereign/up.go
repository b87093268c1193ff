package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/tlscert"
)

func newUp(f *flags) *cobra.Command {
	c := &cobra.Command{
		Use:   "up",
		Short: "Run the embedded stack (registry, TEG, identity, policy, portal) in one process",
		Long: `up starts the whole stack on one listener, on SQLite files under the data directory by
default. On first start it creates an admin account and writes its API key to DATA/admin.key.
With --identity-mode spire (SOVEREIGN_IDENTITY_MODE=spire) agent SVIDs are minted by a real
SPIRE server through its Server API socket (--spire-server-socket) instead of the builtin CA.
Prometheus metrics are not on that listener: --metrics-addr serves /metrics on one of its own
(metrics.token puts /metrics behind a bearer token, on both). --tls-cert/--tls-key serve the
listener over TLS 1.3 with HSTS; --tls does so with a self-signed certificate made once in
DATA/tls and kept, whose SHA-256 fingerprint and file (to give clients as --ca-file) it prints.
SIGINT or SIGTERM shut it down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			cfg, err := f.load(cmd)
			if err != nil {
				return err
			}
			log := newLogger(cfg.LogLevel)
			ctx := cmd.Context()
			var selfSigned *tlscert.SelfSigned
			if f.serve.selfSigned {
				ss, err := tlscert.EnsureSelfSigned(filepath.Dir(cfg.TLS.Cert), tlscert.Hosts(cfg.Addr, cfg.PublicURL), time.Now())
				if err != nil {
					return err
				}
				selfSigned = &ss
			}
			stopTracing, err := installTracing(ctx, cfg, "sovereign", log)
			if err != nil {
				return err
			}
			defer stopTracing()
			srv, err := server.New(ctx, server.Options{Config: cfg, Logger: log})
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", cfg.Addr)
			if err != nil {
				return err
			}
			metricsLn, err := listenMetrics(cfg)
			if err != nil {
				ln.Close()
				return err
			}
			out := cmd.OutOrStdout()
			base := listenURL(cfg, ln)
			fmt.Fprintf(out, "%s\n", buildinfo.String())
			fmt.Fprintf(out, "ready in %s on %s\n", time.Since(start).Round(time.Millisecond), base)
			printTLS(out, cfg, selfSigned)
			startedEvent(log, "all", base, cfg)
			fmt.Fprintf(out, "  API        %s/openapi.json   (every route, under /api/v1/)\n", base)
			fmt.Fprintf(out, "  portal     %s/portal/\n", base)
			fmt.Fprintf(out, "  health     %s/healthz  %s/readyz\n", base, base)
			printMetrics(out, cfg, metricsLn)
			fmt.Fprintf(out, "  store      %s\n", store.Redact(cfg.Store))
			fmt.Fprintf(out, "  trust domain %s\n", cfg.TrustDomain)
			if cfg.IdentityMode == config.IdentitySpire {
				fmt.Fprintf(out, "  identity   SPIRE, Server API at %s\n", cfg.SpireServerSocket)
			} else {
				fmt.Fprintf(out, "  identity   builtin CA in %s\n", cfg.IdentityDir)
			}
			keyFile := filepath.Join(cfg.Data, server.AdminKeyFile)
			if srv.AdminKey != "" {
				fmt.Fprintf(out, "  admin      %s, API key (shown once, saved to %s):\n             %s\n", cfg.AdminEmail, keyFile, srv.AdminKey)
			} else {
				fmt.Fprintf(out, "  admin      API key in %s (created on first start)\n", keyFile)
			}
			serves := []func(context.Context) error{func(ctx context.Context) error { return srv.Serve(ctx, ln) }}
			if metricsLn != nil {
				serves = append(serves, func(ctx context.Context) error { return srv.ServeMetrics(ctx, metricsLn) })
			}
			fs, err := listenFederation(out, cfg, srv)
			if err != nil {
				return err
			}
			serves = append(serves, fs...)
			err = serveAll(ctx, serves...)
			log.Info("stopped", "err", err)
			return err
		},
	}
	f.serve.modeFlags(c)
	c.Flags().BoolVar(&f.serve.selfSigned, "tls", false, "serve TLS 1.3 with a self-signed certificate for the listen host names, made once in DATA/tls and kept")
	return c
}

func newMigrate(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the store's pending migrations and print the schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := f.openStore(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			applied, err := db.Migrate(ctx)
			for _, m := range applied {
				fmt.Fprintf(cmd.OutOrStdout(), "applied %05d %s\n", m.Version, m.Name)
			}
			if err != nil {
				return err
			}
			cur, latest, err := db.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s schema at version %d (latest %d)\n", db.Dialect(), cur, latest)
			return nil
		},
	}
}
