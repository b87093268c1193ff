// Package server assembles the embedded stack — store, policy, registry, portal and the shared
// HTTP conventions — into one http.Handler, and runs it with graceful shutdown. cmd/sovereign
// only parses the command line and calls it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/ard/ardhttp"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/email"
	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/identity/identityhttp"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/portal"
	"github.com/sovereign-stack/sovereign/ratelimit"
	"github.com/sovereign-stack/sovereign/recentwrites"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registryhttp"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
	"github.com/sovereign-stack/sovereign/tlscert"
	"github.com/sovereign-stack/sovereign/tracing"
)

// AdminKeyFile is the file in the data directory holding the admin API key created on first start.
const AdminKeyFile = "admin.key"

// Server is the assembled embedded stack.
type Server struct {
	cfg         config.Config
	log         *slog.Logger
	db          *store.DB
	redis       *redis.Client
	handler     http.Handler
	metrics     http.Handler     // GET /metrics (behind the metrics token when one is set)
	metricsHTTP *httpapi.Metrics // the HTTP metrics, for the metrics listener's own requests
	accounts    *registry.Accounts
	cards       *registry.Cards
	onboarding  *registry.Onboarding
	ledger      *tegsql.Ledger
	issuer      identity.Issuer // the builtin CA or SPIRE (Config.IdentityMode)
	role        Role
	source      identity.SVIDSource // the service's own X.509-SVID (split mode)
	serviceID   spiffeid.ID         // the SPIFFE ID source holds an SVID for
	wallets     teg.Wallets
	// tokens is the ledger's service when this process runs it (nil otherwise); templates the
	// registry's card templates (nil without the registry). The portal uses both.
	tokens     *teg.Service
	templates  *registry.Templates
	reputation *reputation.Service
	auditor    *auditor.Service
	// auditorConsumer follows the ledger's log for the auditor (nil without the ledger).
	auditorConsumer *auditor.Consumer
	tegPing         func(context.Context) error // the remote TEG's liveness (registry role)
	closers         []io.Closer
	stopBg          context.CancelFunc
	bg              sync.WaitGroup

	// attestations is the attestation service (with the ledger and the registry in one process).
	attestations *attestation.Service
	// fed is the registry's federation (nil for RoleTEG).
	fed *fed
	// auth resolves every credential to a subject.
	auth *authenticator
	// tls is the public listener's TLS configuration (nil: plain HTTP).
	tls *tls.Config
	// ops are the operational series beyond the HTTP ones; promReg holds every series.
	ops     *opsMetrics
	promReg *namedRegistry
	// hotStats count the caches of hot reads, per kind (hotKinds).
	hotStats map[string]*hotcache.Stats

	// AdminKey is the admin API key when this start created the admin account, else "".
	AdminKey string
}

// Options are the parts of a Server a caller may supply.
type Options struct {
	Config config.Config
	Logger *slog.Logger
	// PasswordParams override the argon2id costs (tests use cheap ones).
	PasswordParams credential.PasswordParams
	// Mailer overrides email delivery (default: SMTP when configured, else the log).
	Mailer registry.Mailer
	// DB is an already open (and migrated) store to use instead of opening Config.Store; the
	// server closes it on Close.
	DB *store.DB
	// Now overrides the clock of the services (tests).
	Now func() time.Time
	// Role selects the services this server runs: all of them (`up`, the default), or one
	// side of split mode.
	Role Role
	// Issuer is an already open issuer to use instead of the one Config.IdentityMode names
	// (tests that run a registry and a TEG on one builtin CA in one process). The caller
	// closes it. Split-mode services still take their own SVIDs as the mode says: minted by
	// this issuer in builtin mode, from the Workload API in spire mode.
	Issuer identity.Issuer
}

// New opens the store (applying migrations), connects Redis when configured, builds the services
// and routes, and makes sure an admin account exists (writing its key to Data/admin.key when it
// creates one).
func New(ctx context.Context, o Options) (*Server, error) {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	log = slog.New(tracing.LogHandler(log.Handler())) // trace_id and span_id in each line of a traced request
	db := o.DB
	if db == nil {
		var err error
		opts := []store.Option{store.WithLogger(log)}
		if cfg.StoreReplica != "" {
			opts = append(opts, store.WithReplica(cfg.StoreReplica, cfg.StoreReplicaMaxLag))
		}
		if db, err = store.Open(ctx, cfg.Store, opts...); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: log, db: db, ops: newOpsMetrics(), hotStats: newHotStats()}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if cfg.TLS.Enabled() {
		var err error
		if s.tls, err = tlscert.ServerConfig(cfg.TLS.Cert, cfg.TLS.Key); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		return nil, err
	}

	var err error
	var limiter ratelimit.Limiter = ratelimit.NewMemory()
	if cfg.Redis != "" {
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("server: redis URL: %w", err)
		}
		redisFailFast(opts, cfg.Redis)
		s.redis = redis.NewClient(opts)
		if err := s.redis.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("server: redis %s: %w", opts.Addr, err)
		}
		limiter = ratelimit.NewRedis(s.redis, "sovereign:rl:")
	}

	authz, err := s.policyEngine()
	if err != nil {
		return nil, err
	}
	mailer := o.Mailer
	if mailer == nil {
		if cfg.SMTP.Host != "" {
			mailer = email.NewSMTP(email.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password, From: cfg.SMTP.From})
		} else {
			mailer = email.NewLog(log)
		}
	}
	s.accounts, err = registry.NewAccounts(ctx, registry.AccountsConfig{
		Store: registrysql.NewAccounts(db), Mailer: mailer, Authz: authz,
		Issuer: cfg.PublicURL, PublicURL: cfg.PublicURL, PasswordParams: o.PasswordParams, Logger: log, Now: o.Now,
		PasswordLimits: credential.HashLimits{MaxMemoryKiB: uint64(cfg.PasswordHashing.MaxMemoryMiB) * 1024, MaxConcurrent: cfg.PasswordHashing.MaxConcurrent,
			MaxWaiting: cfg.PasswordHashing.MaxWaiting, MaxWait: cfg.PasswordHashing.WaitTimeout},
	})
	if err != nil {
		return nil, err
	}
	if err := s.ensureAdmin(ctx); err != nil {
		return nil, err
	}

	reg := newNamedRegistry()
	s.promReg = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerPasswordMetrics(reg, s.accounts)
	metrics := httpapi.NewMetrics(reg)
	perMinute := func(n, burst int) ratelimit.Limit { return ratelimit.Limit{Rate: n, Period: time.Minute, Burst: burst} }
	rl := cfg.RateLimits
	limits := &httpapi.RateLimits{Limiter: limiter, Metrics: metrics, Log: log, Classes: map[string]ratelimit.Limit{
		httpapi.RateDefault:                perMinute(rl.DefaultPerMinute, rl.DefaultBurst),
		httpapi.RateAuth:                   perMinute(rl.AuthPerMinute, rl.AuthBurst),
		registryhttp.RateLoginEmail:        perMinute(rl.LoginEmailPerMinute, rl.LoginEmailBurst),
		registryhttp.RateLoginEmailAddress: perMinute(rl.LoginEmailAddressPerMinute, rl.LoginEmailAddressBurst),
		registryhttp.RateBootstrap:         perMinute(rl.BootstrapPerMinute, rl.BootstrapBurst),
		httpapi.RateAuthFailure:            perMinute(rl.AuthFailuresPerMinute, rl.AuthFailuresBurst),
	}}
	for class := range limits.Classes {
		metrics.DeclareRateLimitClasses(class)
	}

	params := teg.DefaultParams()
	bgCtx, stop := context.WithCancel(context.Background())
	s.stopBg = stop
	s.role = o.Role
	if s.role.runsTEG() {
		s.ledger = tegsql.Open(db, params, o.Now, tegsql.WithObserver(s.ops.ledgerActivity),
			tegsql.WithParamsCache(newHotCache(s, hotParams, 4, 0, tegsql.ParamsCodec)), balanceCache(s))
		s.bg.Add(1)
		go s.expirePending(bgCtx)
		s.bg.Add(1)
		go s.runStaking(bgCtx, &teg.Scheduler{Store: s.ledger, Now: o.Now})
	}

	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "Sovereign Stack", buildinfo.Version)
	td, err := spiffeid.TrustDomainFromString(cfg.TrustDomain)
	if err != nil {
		return nil, fmt.Errorf("server: trust domain: %w", err)
	}
	s.issuer = o.Issuer
	if s.issuer == nil {
		if s.issuer, err = s.openIssuer(ctx, td); err != nil {
			return nil, err
		}
	}
	tegID, err := identity.TEGID(td)
	if err != nil {
		return nil, err
	}
	registryID, err := identity.RegistryID(td, cfg.RegistryName)
	if err != nil {
		return nil, fmt.Errorf("server: registry name: %w", err)
	}
	if err := s.startSource(ctx, tegID, registryID); err != nil {
		return nil, err
	}
	auth := &authenticator{accounts: s.accounts, issuer: s.issuer, audience: tegID, agentActive: s.agentActive}
	s.auth = auth
	if _, inProcess := limiter.(*ratelimit.Memory); !inProcess {
		// A look-up in the shared limiter is a round trip to Redis; the authenticator's
		// memory of verified tokens answers for a hash (in process, the look-up is cheaper).
		limits.Verified = auth
	}
	api.UseMiddleware(limits.AuthFailures, httpapi.Authenticate(auth, metrics), exceptServices(limits.Middleware))
	if st := db.ReplicaStatus(); st.Configured {
		window := store.ReadYourWritesWindow(st.MaxLag)
		var recent recentwrites.Tracker = recentwrites.NewMemory(window)
		if s.redis != nil {
			recent = recentwrites.NewRedis(s.redis, "sovereign:ryw:", window)
		}
		api.UseMiddleware(httpapi.ReadYourWrites(recent))
	}
	if s.role.runsTEG() {
		tokens := &teg.Service{Store: s.ledger, Authz: authz, Log: s.log, LargeTransfer: teg.DefaultLargeTransfer}
		s.tokens = tokens
		_, supply := cfg.Onboarding.Amounts(s.role == RoleAll)
		if err := genesis(ctx, tokens, supply, log); err != nil {
			return nil, err
		}
		(&teghttp.Token{Service: tokens}).Register(api)
		s.registerReputation(bgCtx, api, tokens, authz, o.Now)
		s.startGovernance(bgCtx, authz, o.Now)
		s.registerDisputes(bgCtx, api, tokens, o.Now)
		s.registerAuditor(bgCtx, api, tokens, authz, o.Now, reg)
		// In one process the registry reaches the ledger directly, as the same subject it is
		// over mTLS in split mode, so the policy decides alike.
		s.wallets = &teg.ServiceWallets{Service: tokens, As: serviceSubject(registryID, policy.AuthX509SVID)}
	}
	if err := s.connectTEG(tegID); err != nil {
		return nil, err
	}
	(&identityhttp.Identity{Issuer: s.issuer, Authz: authz, Now: o.Now}).Register(api)
	if s.role.runsRegistry() {
		if err := s.registerRegistry(ctx, bgCtx, mux, api, authz, limits, o.Now, registryID); err != nil {
			return nil, err
		}
	}
	if s.reputation != nil && s.onboarding != nil { // the ledger and the registry in one process
		s.registerAttestations(bgCtx, api, authz, o.Now, registryID)
	}
	wellKnown, err := identityhttp.WellKnownHandler(s.issuer)
	if err != nil {
		return nil, fmt.Errorf("server: spiffe bundle endpoint: %w", err)
	}
	mux.Handle("GET "+identityhttp.WellKnownPath, wellKnown)
	describeOps(api)

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	s.ops.register(reg, s)
	s.metrics = metricsHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), cfg.Metrics.Token)
	if cfg.Metrics.Token != "" {
		// Without a token the public listener has no /metrics (404): it is served on the
		// metrics listener (Config.Metrics.Addr) only.
		mux.Handle("GET /metrics", s.metrics)
	}
	s.metricsHTTP = metrics
	if s.role.runsRegistry() {
		loginLimits := &registryhttp.Accounts{Service: s.accounts, Limits: limits}
		pc := portal.Config{Accounts: s.accounts, Cards: s.cards, Onboarding: s.onboarding, Templates: s.templates,
			CheckLogin: loginLimits.CheckLogin, Status: s.portalStatus, PublicURL: cfg.PublicURL, Logger: log,
			Economy: s.portalEconomy(authz)}
		if s.tokens != nil { // the ledger in this process: the wallet can send as an agent
			pc.Payments, pc.AuthenticateAgent = s.tokens, auth.AuthenticateAccessToken
		}
		mux.Handle("/portal/", portal.Handler(pc))
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/portal/", http.StatusFound)
		})
	}
	s.handler = httpapi.Handler(mux, log, metrics)
	ok = true
	return s, nil
}

// registerRegistry adds the registry's services and routes: accounts, agent cards (with the
// discovery index kept in step in the background), ARD, templates.
func (s *Server) registerRegistry(ctx, bgCtx context.Context, mux *http.ServeMux, api huma.API, authz policy.Decider, limits *httpapi.RateLimits, now func() time.Time, registryID spiffeid.ID) error {
	cfg := s.cfg
	(&registryhttp.Accounts{Service: s.accounts, Limits: limits}).Register(api)
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || pub.Hostname() == "" {
		return fmt.Errorf("server: public URL %q has no host", cfg.PublicURL)
	}
	var st registry.Standings
	if s.reputation != nil { // this process runs the ledger: discovery shows and filters by reputation
		st = standings{rep: s.reputation}
	}
	s.cards = registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(s.db), Authz: authz, Host: pub.Hostname(), Logger: s.log, Now: now,
		Standings: st, Cache: newHotCache(s, hotCards, hotCardEntries, 0, registry.CardCodec),
		// In process, other replicas' writes do not reach the cache: each hit is checked, a
		// discovery page's at most once an index sync.
		ValidateCache: s.redis == nil, PageRecheck: indexSyncInterval})
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.cards.Run(bgCtx, indexSyncInterval)
	}()
	cardRoutes := &registryhttp.Cards{Service: s.cards, BaseURL: cfg.PublicURL}
	if s.reputation != nil && s.reputation.Issuer != nil {
		cardRoutes.Reputation = s.reputation
	}
	if err := s.registerFederation(ctx, bgCtx, api, authz, cardRoutes, registryID, now); err != nil {
		return err
	}
	s.auth.federated = s.fed.bundles
	cardRoutes.Register(api)
	(&ardhttp.Handler{Cards: s.cards, BaseURL: cfg.PublicURL, HostName: "Sovereign registry " + pub.Hostname(), Limits: limits}).Register(mux)
	ardhttp.Describe(api)
	templates, err := registry.NewTemplates(registry.TemplatesConfig{Store: registrysql.NewTemplates(s.db), Authz: authz, Now: now})
	if err != nil {
		return err
	}
	(&registryhttp.Templates{Service: templates}).Register(api)
	s.templates = templates
	return s.registerOnboarding(bgCtx, api, authz, limits, now)
}

// agentActive refuses every authenticated request of a suspended or revoked agent (the
// registry's roles only: a TEG alone has no agent records, and refuses their money instead
// with the frozen wallet). In `up` the TEG's routes share the authenticator, so an agent's
// transfers stop with its suspension, in every replica (at once in the one that made it,
// within registry.AgentStatusStaleness in the others; the frozen wallet stops its money
// everywhere at once).
func (s *Server) agentActive(ctx context.Context, agentID string) error {
	if s.onboarding == nil {
		return nil
	}
	return s.onboarding.AgentActive(ctx, agentID)
}

// policyEngine builds the one policy engine every service asks: the embedded Rego, the
// configured directory (hot-reloaded) or bundle URL (polled), with the decision log when
// configured.
func (s *Server) policyEngine() (*policy.Engine, error) {
	opts := []policy.Option{policy.WithLogger(s.log), policy.WithDenialObserver(s.ops.denied)}
	if s.cfg.PolicyDir != "" {
		opts = append(opts, policy.WithDir(s.cfg.PolicyDir))
	}
	if s.cfg.PolicyBundle != "" {
		opts = append(opts, policy.WithBundleURL(s.cfg.PolicyBundle, s.cfg.PolicyBundleInterval))
	}
	switch s.cfg.DecisionLog {
	case "":
	case "-":
		opts = append(opts, policy.WithDecisionLog(os.Stdout))
	default:
		f, err := os.OpenFile(s.cfg.DecisionLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("server: decision log: %w", err)
		}
		s.closers = append(s.closers, f)
		opts = append(opts, policy.WithDecisionLog(f))
	}
	e, err := policy.NewWithOptions(opts...)
	if err != nil {
		return nil, fmt.Errorf("server: policy: %w", err)
	}
	s.closers = append(s.closers, e)
	return e, nil
}

func (s *Server) ensureAdmin(ctx context.Context) error {
	key, err := s.accounts.EnsureAdmin(ctx, s.cfg.AdminEmail)
	if err != nil || key == "" {
		return err
	}
	if err := os.MkdirAll(s.cfg.Data, 0o700); err != nil {
		return fmt.Errorf("server: data directory: %w", err)
	}
	path := filepath.Join(s.cfg.Data, AdminKeyFile)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("server: write %s: %w", path, err)
	}
	s.AdminKey = key
	return nil
}

// Handler is the stack's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Accounts is the developer-account service (for the command line's operator actions).
func (s *Server) Accounts() *registry.Accounts { return s.accounts }

// Cards is the agent-card and discovery service (nil for RoleTEG).
func (s *Server) Cards() *registry.Cards { return s.cards }

// Issuer is the stack's SPIFFE identity issuer: the builtin CA (*identity.Builtin) or SPIRE
// (*identity.Spire), as Config.IdentityMode says. It mints agent SVIDs and its bundle verifies
// every SVID presented to the server.
func (s *Server) Issuer() identity.Issuer { return s.issuer }

// MetricNames is the name of every metric family the server registers on /metrics, sorted
// (a family whose series carry labels is listed before its first series appears).
func (s *Server) MetricNames() []string { return s.promReg.Names() }

// Config is the configuration the server runs with.
func (s *Server) Config() config.Config { return s.cfg }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	checks, healthy := s.Readiness(r.Context())
	if !healthy {
		httpapi.WriteError(w, r, apperr.New(apperr.Unavailable, "NOT_READY", "a dependency is unreachable").With("checks", checks))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

// Readiness checks what the server depends on (the store, Redis, SPIRE, the remote TEG), each
// within two seconds: "ok" or why not, per dependency, and whether all are reachable. /readyz
// answers it; `teg serve` and `registry serve` say it before claiming ready.
func (s *Server) Readiness(ctx context.Context) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok"}
	healthy := true
	if err := s.db.Ping(ctx); err != nil {
		checks["store"], healthy = err.Error(), false
	}
	if st := s.db.ReplicaStatus(); st.Configured {
		// A standby that lags or is down is bypassed, not fatal: reads go to the primary.
		checks["store_replica"] = "ok"
		if !st.Healthy {
			checks["store_replica"] = fmt.Sprintf("bypassed: %s behind (at most %s allowed) or unreachable; reads go to the primary", st.Lag.Round(time.Millisecond), st.MaxLag)
		}
	}
	if s.redis != nil {
		checks["redis"] = "ok"
		if err := s.redis.Ping(ctx).Err(); err != nil {
			checks["redis"], healthy = err.Error(), false
		}
	}
	if s.cards != nil {
		checks["discovery_index"] = "loading"
		if s.cards.IndexReady() {
			checks["discovery_index"] = "ok"
		}
	}
	if s.cfg.IdentityMode == config.IdentitySpire {
		checks["spire"] = "ok"
		if _, err := s.issuer.Bundle(ctx); err != nil {
			checks["spire"], healthy = err.Error(), false
		}
	}
	if s.tegPing != nil {
		checks["teg"] = "ok"
		if err := s.tegPing(ctx); err != nil {
			checks["teg"], healthy = err.Error(), false
		}
	}
	return checks, healthy
}

func (s *Server) portalStatus(ctx context.Context) portal.Status {
	return portal.Status{Version: buildinfo.String(), TrustDomain: s.cfg.TrustDomain, StoreDialect: string(s.db.Dialect()), StoreOK: s.db.Ping(ctx) == nil}
}

// every runs fn each period until ctx ends: one of the server's background loops (started with
// s.bg.Add(1); it calls s.bg.Done when it stops).
func (s *Server) every(ctx context.Context, period time.Duration, fn func(now time.Time)) {
	defer s.bg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

// expirePending voids pending transfers whose timeout passed, once a second.
func (s *Server) expirePending(ctx context.Context) {
	s.every(ctx, time.Second, func(now time.Time) {
		if n, err := s.ledger.ExpireDue(ctx, now); err != nil && ctx.Err() == nil {
			s.log.Warn("expire pending transfers", "err", err)
		} else if n > 0 {
			s.log.Info("expired pending transfers", "count", n)
		}
	})
}

// runStaking pays due reward epochs and releases due unbonding entries, once a second (every
// replica runs it; the ledger makes each epoch and release happen once).
func (s *Server) runStaking(ctx context.Context, sched *teg.Scheduler) {
	s.every(ctx, time.Second, func(time.Time) {
		epochs, releases, err := sched.RunDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("staking scheduler", "err", err)
		}
		if epochs > 0 || releases > 0 {
			s.log.Info("staking scheduler", "epochs_paid", epochs, "unbondings_released", releases)
		}
	})
}

// Ledger is the ledger this server writes (nil when it runs the registry alone).
func (s *Server) Ledger() *tegsql.Ledger { return s.ledger }

// Close stops the background work and the ledger writer, then closes the store and Redis.
func (s *Server) Close() error {
	if s.stopBg != nil {
		s.stopBg()
		s.bg.Wait()
	}
	if s.ledger != nil {
		s.ledger.Close()
	}
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i].Close())
	}
	if s.redis != nil {
		errs = append(errs, s.redis.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (up to the configured timeout), and returns. With TLS
// configured (Config.TLS) it serves HTTPS on ln — TLS 1.3 only, HTTP/2 offered — and every
// answer carries Strict-Transport-Security.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.tls != nil {
		return s.serveTLS(ctx, ln, hsts(s.handler), s.tls)
	}
	return s.serve(ctx, ln, s.handler)
}

// HSTSMaxAge is the max-age of the Strict-Transport-Security header of a TLS listener (one
// year). It names no subdomains: the stack's host name says nothing about its neighbours'.
const HSTSMaxAge = 365 * 24 * time.Hour

// hsts adds Strict-Transport-Security to every answer of h.
func hsts(h http.Handler) http.Handler {
	value := fmt.Sprintf("max-age=%d", int(HSTSMaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", value)
		h.ServeHTTP(w, r)
	})
}

// serve serves h on ln until ctx is cancelled, then shuts down gracefully.
func (s *Server) serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	return s.serveTLS(ctx, ln, h, nil)
}

// serveTLS is serve over TLS with tc (plain HTTP when tc is nil).
func (s *Server) serveTLS(ctx context.Context, ln net.Listener, h http.Handler, tc *tls.Config) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext:       func(ctx context.Context, _ net.Conn) context.Context { return httpapi.WithConnStart(ctx, time.Now()) },
	}
	errc := make(chan error, 1)
	if tc != nil {
		srv.TLSConfig = tc.Clone()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// redisFailFast bounds how long a request waits on an unreachable Redis, unless the URL sets
// the option itself (go-redis reads dial_timeout, read_timeout, write_timeout, max_retries and
// pool_timeout from its query). Everything the server keeps in Redis is answered in well under
// a millisecond, and every use has a way on without it (the rate limiter lets the request
// through, the caches miss, read-your-writes reads the primary); go-redis's defaults (5 s to
// dial, 3 s to read, three retries, five dials a connection) held requests for seconds each
// while Redis restarted.
func redisFailFast(opts *redis.Options, rawURL string) {
	set := map[string]bool{}
	if u, err := url.Parse(rawURL); err == nil {
		for k := range u.Query() {
			set[k] = true
		}
	}
	if !set["dial_timeout"] {
		opts.DialTimeout = 250 * time.Millisecond
	}
	if !set["read_timeout"] {
		opts.ReadTimeout = 250 * time.Millisecond
	}
	if !set["write_timeout"] {
		opts.WriteTimeout = 250 * time.Millisecond
	}
	if !set["max_retries"] {
		opts.MaxRetries = 1
	}
	// go-redis dials five times, 100 ms apart, before a command fails: 0.8 s a request while
	// Redis is down. One dial; the command's own retry dials once more.
	opts.DialerRetries = 1
	opts.DialerRetryTimeout = 20 * time.Millisecond
	if !set["pool_timeout"] {
		opts.PoolTimeout = 500 * time.Millisecond
	}
}
