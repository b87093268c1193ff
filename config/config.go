// Package config is the effective configuration of a sovereign process: defaults, then an
// optional YAML file, then SOVEREIGN_* environment variables, then command-line flags (each
// overriding the one before).
package config

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"gopkg.in/yaml.v3"
)

// Config is everything a sovereign process can be told.
type Config struct {
	// Data is the directory of the embedded stack's files (SQLite database, admin key).
	Data string `yaml:"data"`
	// Addr is the listen address of the HTTP server.
	Addr string `yaml:"addr"`
	// Store is the database DSN: sqlite:///path/file.db or postgres://… (default: a SQLite file in Data).
	Store string `yaml:"store"`
	// StoreReplica, when set, is the DSN of a PostgreSQL hot standby of Store that serves
	// lists, histories and the discovery change feed; a caller that has just written reads the
	// primary, and a standby more than StoreReplicaMaxLag behind is bypassed.
	StoreReplica       string        `yaml:"store_replica"`
	StoreReplicaMaxLag time.Duration `yaml:"store_replica_max_lag"`
	// Redis, when set (redis://…), holds rate limits, the federation answer cache and the cache
	// of hot reads (card documents, parameters, hot accounts' balances), shared by replicas.
	Redis string `yaml:"redis"`
	// PublicURL is the base URL users reach this server at (default http://Addr, or https://Addr
	// with TLS).
	PublicURL string `yaml:"public_url"`
	// TrustDomain is the SPIFFE trust domain.
	TrustDomain string `yaml:"trust_domain"`
	// AdminEmail is the email of the admin account created on first start.
	AdminEmail string `yaml:"admin_email"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// PolicyDir, when set, replaces the embedded Rego policies with the *.rego files of this
	// directory, reloaded on change (a reload that fails to compile keeps the last good policy).
	PolicyDir string `yaml:"policy_dir"`
	// PolicyBundle, when set, is the URL of an OPA bundle (a tar.gz of *.rego files) that
	// replaces the embedded policies, polled every PolicyBundleInterval with If-None-Match; a
	// bundle that fails to compile keeps the last good policy. Excludes PolicyDir.
	PolicyBundle         string        `yaml:"policy_bundle"`
	PolicyBundleInterval time.Duration `yaml:"policy_bundle_interval"`
	// ReputationInterval is how often the ledger's servers recompute every reputation score (a
	// full pass; default 10 minutes). Every replica runs it: a pass stores the same scores
	// whoever runs it.
	ReputationInterval time.Duration `yaml:"reputation_interval"`
	// DecisionLog, when set, is a file that receives one JSON line per policy decision (OPA's
	// decision-log event format, secrets masked); "-" means standard output.
	DecisionLog string `yaml:"decision_log"`
	// IdentityMode is where SVIDs come from: IdentityBuiltin (the embedded CA, the default) or
	// IdentitySpire (a real SPIRE deployment: agent SVIDs minted through the SPIRE Server API at
	// SpireServerSocket, split-mode services' own SVIDs from the Workload API).
	IdentityMode string `yaml:"identity_mode"`
	// IdentityDir is the directory of the builtin CA (default DATA/identity). In split mode the
	// registry and the TEG trust each other only if their SVIDs come from one CA.
	IdentityDir string `yaml:"identity_dir"`
	// SpireServerSocket is the path of the SPIRE Server API's unix socket (the server's
	// socket_path), through which agent SVIDs are minted and the bundle is read. Required in
	// spire mode; callers on it are SPIRE admins, so only this process may reach it.
	SpireServerSocket string `yaml:"spire_server_socket"`
	// SpireWorkloadSocket is the SPIFFE Workload API endpoint (unix:///path/api.sock or
	// tcp://IP:PORT) split-mode services take their own X.509-SVIDs from in spire mode. Empty
	// means the standard SPIFFE_ENDPOINT_SOCKET environment variable.
	SpireWorkloadSocket string `yaml:"spire_workload_socket"`
	// SVIDTTL is the lifetime of the X.509-SVIDs a split-mode service mints for itself with the
	// builtin CA; it rotates them at half of it. In spire mode the registration entry's TTL
	// applies instead.
	SVIDTTL time.Duration `yaml:"svid_ttl"`
	// MTLSAddr, for `sovereign teg serve`, is the listen address of the TEG's mTLS listener
	// (TLS 1.3, clients must present an X.509-SVID of a registry or an agent).
	MTLSAddr string `yaml:"mtls_addr"`
	// TEGURL, for `sovereign registry serve`, is the https URL of the TEG's mTLS listener.
	TEGURL string `yaml:"teg_url"`
	// RegistryName names this registry: its SPIFFE ID is spiffe://<trust_domain>/registry/<name>.
	RegistryName string `yaml:"registry_name"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration   `yaml:"shutdown_timeout"`
	SMTP            SMTP            `yaml:"smtp"`
	RateLimits      RateLimits      `yaml:"rate_limits"`
	PasswordHashing PasswordHashing `yaml:"password_hashing"`
	Metrics         Metrics         `yaml:"metrics"`
	Tracing         Tracing         `yaml:"tracing"`
	Onboarding      Onboarding      `yaml:"onboarding"`
	Federation      Federation      `yaml:"federation"`
	TLS             TLS             `yaml:"tls"`
}

// TLS makes the public listener serve HTTPS: TLS 1.3 only, with Strict-Transport-Security on
// every answer, and the default public URL https://. Cert and Key are set together.
type TLS struct {
	// Cert is the PEM file of the listener's certificate, followed by its intermediates.
	// Cert and Key are read again when they change, so a renewed certificate needs no restart.
	Cert string `yaml:"cert"`
	// Key is the PEM file of the certificate's private key.
	Key string `yaml:"key"`
}

// Enabled reports whether the public listener serves TLS.
func (t TLS) Enabled() bool { return t.Cert != "" }

// Federation configures registry-to-registry federation. Peers call the live query on a
// listener of its own, with mutual TLS against the peers' federated trust bundles.
type Federation struct {
	// Addr, when set, is the listen address of the federation listener (host:port); peers
	// are given https://<this host>:<port> as this registry's base URL.
	Addr string `yaml:"addr"`
	// PeerTimeout is how long a live query waits for each peer (0: 800ms).
	PeerTimeout time.Duration `yaml:"peer_timeout"`
	// MaxHops is how many registries deep a live query started here travels (0: 2).
	MaxHops int `yaml:"max_hops"`
	// CacheTTL is how long the peers' answer to a federated query is reused (0: 10s;
	// negative: no cache). In Redis when Redis is set, so that replicas share it.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// DeniedNetworks are the networks peers' URLs may not point at: comma-separated CIDR
	// prefixes and the names loopback, private, link-local, unspecified ("": none).
	DeniedNetworks string `yaml:"denied_networks"`
	// SyncInterval is how often each ACTIVE peer's change feed is pulled besides the peer's
	// hints (0: 30s).
	SyncInterval time.Duration `yaml:"sync_interval"`
}

// PasswordHashing bounds the argon2id work of registrations, logins and password recoveries:
// each hash holds its memory (19 MiB) while it runs; requests beyond MaxMemoryMiB wait in a
// queue of MaxWaiting for at most WaitTimeout, then answer 503 SERVER_BUSY with Retry-After.
type PasswordHashing struct {
	MaxMemoryMiB int `yaml:"max_memory_mib"`
	// MaxConcurrent caps the hashes running at once below the memory budget; 0 means one per
	// CPU (GOMAXPROCS): argon2id is CPU-bound, more at once only adds memory and latency.
	MaxConcurrent int           `yaml:"max_concurrent"`
	MaxWaiting    int           `yaml:"max_waiting"`
	WaitTimeout   time.Duration `yaml:"wait_timeout"`
}

// Metrics configures where Prometheus metrics are served. The public listener does not serve
// /metrics unless Token is set; Addr opens a separate listener (for an internal network) that
// serves only /metrics.
type Metrics struct {
	// Addr, when set, is the listen address of the metrics listener (host:port).
	Addr string `yaml:"addr"`
	// Token, when set, is the bearer token /metrics requires, on the public listener and the
	// metrics listener alike (at least 16 characters).
	Token string `yaml:"token" secret:"true"`
}

// Tracing configures where OpenTelemetry spans are exported.
type Tracing struct {
	// OTLPEndpoint, when set, is the OTLP/HTTP endpoint spans are sent to, as a URL
	// ("http://jaeger:4318"). Empty: the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) variable, and with neither no exporter (trace ids are
	// still made for the logs and passed on).
	OTLPEndpoint string `yaml:"otlp_endpoint"`
}

// MinMetricsTokenLen is the shortest metrics.token accepted.
const MinMetricsTokenLen = 16

// The identity modes (Config.IdentityMode).
const (
	// IdentityBuiltin is the embedded CA (identity.Builtin), keys in IdentityDir.
	IdentityBuiltin = "builtin"
	// IdentitySpire is real SPIRE: identity.Spire over the Server API for agent SVIDs, the
	// Workload API for the services' own.
	IdentitySpire = "spire"
)

// Onboarding configures the bootstrap protocol.
type Onboarding struct {
	// StartingGrant is the AVT a new agent's wallet receives from the treasury ("0": none).
	// Empty means the mode's default: EmbeddedStartingGrant in embedded mode (`up`), none for a
	// registry in split mode (`registry serve`).
	StartingGrant string `yaml:"starting_grant"`
	// GrantDailyCapPerDeveloper bounds the starting grants the agents of one developer receive
	// in a rolling 24 hours (AVT; "0": no grants at all; GrantCapUnlimited: no bound). A
	// registration whose grant would pass it still succeeds, without a grant.
	GrantDailyCapPerDeveloper string `yaml:"grant_daily_cap_per_developer"`
	// GenesisSupply is the AVT minted to the treasury the first time a ledger starts (once:
	// later starts find it minted), from which starting grants are paid ("0": mint nothing;
	// the admin mints with `sovereign token mint`). Empty means the mode's default:
	// EmbeddedGenesisSupply in embedded mode (`up`), nothing for `teg serve`.
	GenesisSupply string `yaml:"genesis_supply"`
	// HeartbeatInterval is how often agents are expected to send heartbeats; after three
	// missed intervals discovery lists them as inactive.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
}

// Defaults of the onboarding amounts (Onboarding.Amounts).
const (
	// EmbeddedStartingGrant is the starting grant in embedded mode when none is configured.
	EmbeddedStartingGrant = "100"
	// EmbeddedGenesisSupply is the genesis supply in embedded mode when none is configured.
	EmbeddedGenesisSupply = "1000000000"
	// DefaultGrantDailyCap is the default of Onboarding.GrantDailyCapPerDeveloper: five
	// embedded-mode grants a day.
	DefaultGrantDailyCap = "500"
	// GrantCapUnlimited as Onboarding.GrantDailyCapPerDeveloper removes the cap.
	GrantCapUnlimited = "unlimited"
)

// Amounts returns the starting grant and the genesis supply in effect: the configured ones, or
// where they are empty the defaults of the mode — embedded (`up`: EmbeddedStartingGrant and
// EmbeddedGenesisSupply) or split ("0" and "0": a split-mode registry grants and a split-mode
// TEG mints only what the operator configures).
func (o Onboarding) Amounts(embedded bool) (startingGrant, genesisSupply string) {
	startingGrant, genesisSupply = o.StartingGrant, o.GenesisSupply
	if startingGrant == "" {
		startingGrant = "0"
		if embedded {
			startingGrant = EmbeddedStartingGrant
		}
	}
	if genesisSupply == "" {
		genesisSupply = "0"
		if embedded {
			genesisSupply = EmbeddedGenesisSupply
		}
	}
	return startingGrant, genesisSupply
}

// SMTP configures email delivery; without a Host, emails are logged instead.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
	From     string `yaml:"from"`
}

// RateLimits are per-caller limits, in requests per minute with a burst.
type RateLimits struct {
	DefaultPerMinute int `yaml:"default_per_minute"`
	DefaultBurst     int `yaml:"default_burst"`
	AuthPerMinute    int `yaml:"auth_per_minute"`
	AuthBurst        int `yaml:"auth_burst"`
	// LoginEmailAddressPerMinute limits the logins naming one email from one client address:
	// a guesser locks only this pair, not the owner elsewhere.
	LoginEmailAddressPerMinute int `yaml:"login_email_address_per_minute"`
	LoginEmailAddressBurst     int `yaml:"login_email_address_burst"`
	// LoginEmailPerMinute is the looser ceiling on the logins naming one email from all
	// addresses together, against guessing spread over many addresses.
	LoginEmailPerMinute int `yaml:"login_email_per_minute"`
	LoginEmailBurst     int `yaml:"login_email_burst"`
	// BootstrapPerMinute limits the bootstrap tokens a developer may ask for.
	BootstrapPerMinute int `yaml:"bootstrap_per_minute"`
	BootstrapBurst     int `yaml:"bootstrap_burst"`
	// AuthFailuresPerMinute limits the failed authentications (wrong API keys, tokens, client
	// secrets, passwords) counted against one client address; past it, requests with
	// credentials from that address are refused before any is checked.
	AuthFailuresPerMinute int `yaml:"auth_failures_per_minute"`
	AuthFailuresBurst     int `yaml:"auth_failures_burst"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Data:            "./data",
		Addr:            "127.0.0.1:8420",
		TrustDomain:     "sovereign.test",
		AdminEmail:      "admin@sovereign.test",
		LogLevel:        "info",
		ShutdownTimeout: 15 * time.Second,
		SVIDTTL:         time.Hour,
		RegistryName:    "main",
		IdentityMode:    IdentityBuiltin,

		PolicyBundleInterval: 30 * time.Second,
		ReputationInterval:   10 * time.Minute,
		SMTP:                 SMTP{Port: 587},
		RateLimits: RateLimits{
			DefaultPerMinute: 1200, DefaultBurst: 200,
			AuthPerMinute: 20, AuthBurst: 10,
			LoginEmailAddressPerMinute: 5, LoginEmailAddressBurst: 5,
			LoginEmailPerMinute: 10, LoginEmailBurst: 20,
			BootstrapPerMinute: 5, BootstrapBurst: 5,
			AuthFailuresPerMinute: 20, AuthFailuresBurst: 20,
		},
		PasswordHashing: PasswordHashing{MaxMemoryMiB: 128, MaxWaiting: 64, WaitTimeout: 2 * time.Second},
		Onboarding:      Onboarding{GrantDailyCapPerDeveloper: DefaultGrantDailyCap, HeartbeatInterval: time.Minute},
	}
}

// EnvPrefix starts every environment variable the configuration reads.
const EnvPrefix = "SOVEREIGN_"

// LoadFile overlays the YAML file at path onto c; unknown keys are an error.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// LoadEnv overlays SOVEREIGN_* variables from environ (as os.Environ gives them) onto c. The
// variable of a field is its YAML path in upper case joined by "_": SOVEREIGN_ADDR,
// SOVEREIGN_SMTP_HOST, SOVEREIGN_RATE_LIMITS_AUTH_BURST.
func (c *Config) LoadEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	return walk(reflect.ValueOf(c).Elem(), EnvPrefix, func(name string, f reflect.Value, _ reflect.StructField) error {
		v, ok := env[name]
		if !ok {
			return nil
		}
		if err := setString(f, v); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	})
}

// EnvNames lists every environment variable the configuration reads.
func EnvNames() []string {
	var names []string
	c := Default()
	_ = walk(reflect.ValueOf(&c).Elem(), EnvPrefix, func(name string, _ reflect.Value, _ reflect.StructField) error {
		names = append(names, name)
		return nil
	})
	return names
}

func walk(v reflect.Value, prefix string, fn func(name string, f reflect.Value, sf reflect.StructField) error) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		name := prefix + strings.ToUpper(tag)
		if sf.Type.Kind() == reflect.Struct {
			if err := walk(v.Field(i), name+"_", fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(name, v.Field(i), sf); err != nil {
			return err
		}
	}
	return nil
}

func setString(f reflect.Value, s string) error {
	switch {
	case f.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		f.SetInt(int64(n))
	default:
		return fmt.Errorf("unsupported field type %s", f.Type())
	}
	return nil
}

// Finish fills the derived defaults (Store from Data, PublicURL from Addr) and validates.
func (c *Config) Finish() error {
	if c.Data == "" {
		return fmt.Errorf("config: data directory is empty")
	}
	if c.Store == "" {
		abs, err := filepath.Abs(c.Data)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		c.Store = "sqlite://" + filepath.Join(abs, "sovereign.db")
	}
	if c.StoreReplica != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		return fmt.Errorf("config: store_replica needs a PostgreSQL store (store is %s)", maskURL(c.Store))
	}
	if c.StoreReplicaMaxLag < 0 {
		return fmt.Errorf("config: store_replica_max_lag must not be negative")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return fmt.Errorf("config: tls.cert and tls.key (--tls-cert, --tls-key) go together: set both or neither")
	}
	if c.PublicURL == "" {
		host, port, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return fmt.Errorf("config: addr %q is not host:port: %w", c.Addr, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "localhost" // a wildcard listen address is reached through a real name
		}
		scheme := "http://"
		if c.TLS.Enabled() {
			scheme = "https://"
		}
		c.PublicURL = scheme + net.JoinHostPort(host, port)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("config: public_url %q must be an http(s) URL", c.PublicURL)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level %q must be debug, info, warn or error", c.LogLevel)
	}
	r := c.RateLimits
	for name, n := range map[string]int{"default_per_minute": r.DefaultPerMinute, "default_burst": r.DefaultBurst,
		"auth_per_minute": r.AuthPerMinute, "auth_burst": r.AuthBurst, "login_email_per_minute": r.LoginEmailPerMinute, "login_email_burst": r.LoginEmailBurst,
		"login_email_address_per_minute": r.LoginEmailAddressPerMinute, "login_email_address_burst": r.LoginEmailAddressBurst,
		"bootstrap_per_minute": r.BootstrapPerMinute, "bootstrap_burst": r.BootstrapBurst,
		"auth_failures_per_minute": r.AuthFailuresPerMinute, "auth_failures_burst": r.AuthFailuresBurst} {
		if n <= 0 {
			return fmt.Errorf("config: rate_limits.%s must be positive", name)
		}
	}
	if err := c.finishResources(); err != nil {
		return err
	}
	if c.Onboarding.HeartbeatInterval < time.Second {
		return fmt.Errorf("config: onboarding.heartbeat_interval %v must be at least 1s", c.Onboarding.HeartbeatInterval)
	}
	if c.IdentityDir == "" {
		c.IdentityDir = filepath.Join(c.Data, "identity")
	}
	if err := c.finishServices(); err != nil {
		return err
	}
	if err := c.finishIdentity(); err != nil {
		return err
	}
	if c.SMTP.Host != "" && c.SMTP.From == "" {
		return fmt.Errorf("config: smtp.from is required when smtp.host is set")
	}
	return nil
}

// finishResources validates the password-hashing bound and the metrics settings.
func (c *Config) finishResources() error {
	p := c.PasswordHashing
	if p.MaxMemoryMiB <= 0 {
		return fmt.Errorf("config: password_hashing.max_memory_mib must be positive")
	}
	if p.MaxConcurrent < 0 || p.MaxWaiting < 0 || p.WaitTimeout < 0 {
		return fmt.Errorf("config: password_hashing.max_concurrent, max_waiting and wait_timeout must not be negative")
	}
	if c.Federation.PeerTimeout < 0 || c.Federation.MaxHops < 0 || c.Federation.MaxHops > 8 || c.Federation.SyncInterval < 0 {
		return fmt.Errorf("config: federation.peer_timeout and federation.sync_interval must be ≥ 0 and federation.max_hops 0–8")
	}
	if c.Metrics.Addr != "" {
		_, port, err := net.SplitHostPort(c.Metrics.Addr)
		if err != nil {
			return fmt.Errorf("config: metrics.addr %q is not host:port: %w", c.Metrics.Addr, err)
		}
		if c.Metrics.Addr == c.Addr && port != "0" {
			return fmt.Errorf("config: metrics.addr must differ from addr (the public listener)")
		}
	}
	if t := c.Metrics.Token; t != "" && (len(t) < MinMetricsTokenLen || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
		return fmt.Errorf("config: metrics.token must be at least %d characters without spaces or control characters", MinMetricsTokenLen)
	}
	return nil
}

// maxSVIDTTL is the longest svid_ttl (the issuers' limit).
const maxSVIDTTL = 24 * time.Hour

var segmentPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)

// finishServices validates the policy-bundle and split-mode settings.
func (c *Config) finishServices() error {
	if c.PolicyBundle != "" {
		if c.PolicyDir != "" {
			return fmt.Errorf("config: policy_dir and policy_bundle exclude each other")
		}
		if u, err := url.Parse(c.PolicyBundle); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("config: policy_bundle %q must be an http(s) URL", c.PolicyBundle)
		}
	}
	if c.PolicyBundleInterval <= 0 {
		return fmt.Errorf("config: policy_bundle_interval must be positive")
	}
	if c.ReputationInterval < time.Second {
		return fmt.Errorf("config: reputation_interval %v must be at least 1s", c.ReputationInterval)
	}
	if c.SVIDTTL <= 0 || c.SVIDTTL > maxSVIDTTL {
		return fmt.Errorf("config: svid_ttl must be in (0, %s]", maxSVIDTTL)
	}
	if c.MTLSAddr != "" {
		if _, _, err := net.SplitHostPort(c.MTLSAddr); err != nil {
			return fmt.Errorf("config: mtls_addr %q is not host:port: %w", c.MTLSAddr, err)
		}
	}
	if c.TEGURL != "" {
		if u, err := url.Parse(c.TEGURL); err != nil || u.Hostname() == "" || u.Scheme != "https" {
			return fmt.Errorf("config: teg_url %q must be an https URL (the TEG's mTLS listener)", c.TEGURL)
		}
	}
	if !segmentPattern.MatchString(c.RegistryName) || c.RegistryName == "." || c.RegistryName == ".." {
		return fmt.Errorf("config: registry_name %q must be one SPIFFE path segment (letters, digits, '.', '-', '_')", c.RegistryName)
	}
	return nil
}

// finishIdentity validates the identity mode and the SPIRE sockets.
func (c *Config) finishIdentity() error {
	switch c.IdentityMode {
	case IdentityBuiltin:
		// A SPIRE socket without spire mode would silently run on the builtin CA instead.
		if c.SpireServerSocket != "" || c.SpireWorkloadSocket != "" {
			return fmt.Errorf("config: spire_server_socket and spire_workload_socket need identity_mode %q (SOVEREIGN_IDENTITY_MODE=spire); identity_mode is %q",
				IdentitySpire, c.IdentityMode)
		}
	case IdentitySpire:
		if c.SpireServerSocket == "" {
			return fmt.Errorf("config: identity_mode spire needs spire_server_socket (SOVEREIGN_SPIRE_SERVER_SOCKET): the path of the SPIRE Server API socket, socket_path in server.conf")
		}
		if strings.Contains(c.SpireServerSocket, "://") {
			return fmt.Errorf("config: spire_server_socket %q must be a file path (the server's socket_path), not a URL", c.SpireServerSocket)
		}
		if c.SpireWorkloadSocket != "" {
			if err := workloadapi.ValidateAddress(c.SpireWorkloadSocket); err != nil {
				return fmt.Errorf("config: spire_workload_socket %q must be unix:///path/to/api.sock or tcp://IP:PORT: %w", c.SpireWorkloadSocket, err)
			}
		}
	default:
		return fmt.Errorf("config: identity_mode %q must be %q or %q", c.IdentityMode, IdentityBuiltin, IdentitySpire)
	}
	return nil
}

// Masked returns the configuration as YAML with secrets hidden: passwords in DSNs and URLs, and
// fields tagged secret.
func (c Config) Masked() string {
	m := c
	m.Store = maskURL(m.Store)
	m.StoreReplica = maskURL(m.StoreReplica)
	m.Redis = maskURL(m.Redis)
	_ = walk(reflect.ValueOf(&m).Elem(), "", func(_ string, f reflect.Value, sf reflect.StructField) error {
		if sf.Tag.Get("secret") == "true" && f.Kind() == reflect.String && f.String() != "" {
			f.SetString("xxxxx")
		}
		return nil
	})
	b, err := yaml.Marshal(m)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

var (
	userinfoPassword = regexp.MustCompile(`(://[^/@:]*:)[^@]*@`)
	queryPassword    = regexp.MustCompile(`(?i)(password=)[^&\s]*`)
)

func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		// Not a URL we can take apart: hide anything that looks like a password in it.
		s = userinfoPassword.ReplaceAllString(s, "${1}xxxxx@")
		return queryPassword.ReplaceAllString(s, "${1}xxxxx")
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
