package config_test

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sovereign-stack/sovereign/config"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sovereign.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefault_Values(t *testing.T) {
	c := config.Default()
	if c.Data != "./data" || c.Addr != "127.0.0.1:8420" || c.LogLevel != "info" || c.TrustDomain == "" || c.AdminEmail == "" {
		t.Errorf("defaults = %+v", c)
	}
	if c.ShutdownTimeout != 15*time.Second || c.SMTP.Port != 587 || c.SMTP.Host != "" {
		t.Errorf("defaults = %+v", c)
	}
	if c.Store != "" || c.PublicURL != "" || c.Redis != "" {
		t.Errorf("derived or optional fields set by default: %+v", c)
	}
	r := c.RateLimits
	for name, n := range map[string]int{"default": r.DefaultPerMinute, "default burst": r.DefaultBurst, "auth": r.AuthPerMinute,
		"auth burst": r.AuthBurst, "login email": r.LoginEmailPerMinute, "login email burst": r.LoginEmailBurst} {
		if n <= 0 {
			t.Errorf("default rate limit %s = %d", name, n)
		}
	}
	if r.LoginEmailPerMinute <= r.LoginEmailAddressPerMinute || r.LoginEmailBurst <= r.LoginEmailAddressBurst {
		t.Errorf("the per-email login ceiling %d/%d is not looser than the per-(email, address) budget %d/%d",
			r.LoginEmailPerMinute, r.LoginEmailBurst, r.LoginEmailAddressPerMinute, r.LoginEmailAddressBurst)
	}
	if p := c.PasswordHashing; p.MaxMemoryMiB <= 0 || p.WaitTimeout <= 0 || c.Metrics.Addr != "" || c.Metrics.Token != "" {
		t.Errorf("password hashing or metrics defaults = %+v %+v", p, c.Metrics)
	}
	if r.AuthPerMinute >= r.DefaultPerMinute {
		t.Errorf("auth limit %d is not tighter than the default %d", r.AuthPerMinute, r.DefaultPerMinute)
	}
}

func TestDefault_Finishes(t *testing.T) {
	c := config.Default()
	if err := c.Finish(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}

func TestLoadFile_OverlaysDefaults(t *testing.T) {
	c := config.Default()
	path := writeFile(t, `
addr: 0.0.0.0:9000
log_level: debug
shutdown_timeout: 3s
smtp:
  host: mail.example.org
  from: noreply@example.org
rate_limits:
  auth_burst: 3
`)
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.LogLevel != "debug" || c.ShutdownTimeout != 3*time.Second {
		t.Errorf("top-level fields = %+v", c)
	}
	if c.SMTP.Host != "mail.example.org" || c.SMTP.From != "noreply@example.org" || c.SMTP.Port != 587 {
		t.Errorf("smtp = %+v, want host and from set and the default port kept", c.SMTP)
	}
	if c.RateLimits.AuthBurst != 3 || c.RateLimits.AuthPerMinute != config.Default().RateLimits.AuthPerMinute {
		t.Errorf("rate limits = %+v", c.RateLimits)
	}
	if c.Data != "./data" || c.TrustDomain != "sovereign.test" {
		t.Errorf("fields not in the file changed: %+v", c)
	}
}

func TestLoadFile_EmptyFileChangesNothing(t *testing.T) {
	c := config.Default()
	if err := c.LoadFile(writeFile(t, "")); err != nil {
		t.Fatal(err)
	}
	if c.Addr != config.Default().Addr || c.RateLimits != config.Default().RateLimits {
		t.Errorf("empty file changed the configuration: %+v", c)
	}
}

func TestLoadFile_Errors(t *testing.T) {
	tests := map[string]string{
		"unknown key":        "adress: 1.2.3.4:80\n",
		"unknown nested key": "smtp:\n  hostname: mail\n",
		"wrong type":         "smtp:\n  port: lots\n",
		"bad duration":       "shutdown_timeout: soon\n",
		"not YAML":           "addr: [unclosed\n",
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			c := config.Default()
			path := writeFile(t, content)
			err := c.LoadFile(path)
			if err == nil {
				t.Fatalf("LoadFile accepted %q", content)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		c := config.Default()
		if err := c.LoadFile(filepath.Join(t.TempDir(), "absent.yaml")); err == nil {
			t.Fatal("LoadFile of a missing file succeeded")
		}
	})
}

func TestLoadEnv_OverlaysVariables(t *testing.T) {
	c := config.Default()
	err := c.LoadEnv([]string{
		"SOVEREIGN_ADDR=0.0.0.0:7000",
		"SOVEREIGN_SMTP_HOST=smtp.example.org",
		"SOVEREIGN_SMTP_PORT=2525",
		"SOVEREIGN_RATE_LIMITS_AUTH_BURST=4",
		"SOVEREIGN_SHUTDOWN_TIMEOUT=1m30s",
		"SOVEREIGN_PUBLIC_URL=https://reg.example.org/base?x=a=b", // "=" in the value
		"SOVEREIGN_UNKNOWN=ignored",
		"ADDR=not-ours",
		"SOVEREIGN_DATA", // no "=": ignored
		"PATH=/usr/bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default()
	want.Addr = "0.0.0.0:7000"
	want.SMTP.Host, want.SMTP.Port = "smtp.example.org", 2525
	want.RateLimits.AuthBurst = 4
	want.ShutdownTimeout = 90 * time.Second
	want.PublicURL = "https://reg.example.org/base?x=a=b"
	if c != want {
		t.Errorf("after LoadEnv\n got %+v\nwant %+v", c, want)
	}
}

func TestLoadEnv_EmptyValueSetsEmptyString(t *testing.T) {
	c := config.Default()
	if err := c.LoadEnv([]string{"SOVEREIGN_TRUST_DOMAIN="}); err != nil {
		t.Fatal(err)
	}
	if c.TrustDomain != "" {
		t.Errorf("TrustDomain = %q, want empty", c.TrustDomain)
	}
}

func TestLoadEnv_BadValueNamesTheVariable(t *testing.T) {
	tests := []struct{ name, value string }{
		{"SOVEREIGN_RATE_LIMITS_AUTH_BURST", "ten"},
		{"SOVEREIGN_SMTP_PORT", "25.5"},
		{"SOVEREIGN_RATE_LIMITS_DEFAULT_PER_MINUTE", ""},
		{"SOVEREIGN_SHUTDOWN_TIMEOUT", "15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			err := c.LoadEnv([]string{tt.name + "=" + tt.value})
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.name, tt.value)
			}
			if !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error %q does not name %s", err, tt.name)
			}
		})
	}
}

func TestLoad_EnvOverridesFile(t *testing.T) {
	c := config.Default()
	if err := c.LoadFile(writeFile(t, "addr: 10.0.0.1:1\nlog_level: warn\nsmtp:\n  host: file-host\n  from: a@b.c\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv([]string{"SOVEREIGN_ADDR=10.0.0.2:2", "SOVEREIGN_SMTP_FROM=env@b.c"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "10.0.0.2:2" || c.SMTP.From != "env@b.c" {
		t.Errorf("env did not override the file: %+v", c)
	}
	if c.LogLevel != "warn" || c.SMTP.Host != "file-host" {
		t.Errorf("file values not set by env were lost: %+v", c)
	}
}

func TestFinish_DerivesStoreAndPublicURL(t *testing.T) {
	dir := t.TempDir()
	c := config.Default()
	c.Data = dir
	c.Addr = "127.0.0.1:9999"
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if want := "sqlite://" + filepath.Join(dir, "sovereign.db"); c.Store != want {
		t.Errorf("Store = %q, want %q", c.Store, want)
	}
	if c.PublicURL != "http://127.0.0.1:9999" {
		t.Errorf("PublicURL = %q", c.PublicURL)
	}
}

func TestFinish_StoreIsAbsoluteForRelativeData(t *testing.T) {
	c := config.Default() // Data is ./data
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	path, ok := strings.CutPrefix(c.Store, "sqlite://")
	if !ok || !filepath.IsAbs(path) || filepath.Base(path) != "sovereign.db" {
		t.Fatalf("Store = %q, want sqlite:// and an absolute path", c.Store)
	}
	wd, _ := os.Getwd()
	if filepath.Dir(path) != filepath.Join(wd, "data") {
		t.Errorf("Store = %q, want it under %s", c.Store, filepath.Join(wd, "data"))
	}
}

func TestFinish_KeepsExplicitValues(t *testing.T) {
	c := config.Default()
	c.Store = "postgres://u:p@db/sovereign"
	c.PublicURL = "https://registry.example.org"
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if c.Store != "postgres://u:p@db/sovereign" || c.PublicURL != "https://registry.example.org" {
		t.Errorf("Finish overwrote explicit values: %+v", c)
	}
}

func TestFinish_Rejects(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*config.Config)
		mention string
	}{
		{"empty data", func(c *config.Config) { c.Data = "" }, "data"},
		{"bad log level", func(c *config.Config) { c.LogLevel = "verbose" }, "log_level"},
		{"upper-case log level", func(c *config.Config) { c.LogLevel = "INFO" }, "log_level"},
		{"public URL without scheme", func(c *config.Config) { c.PublicURL = "registry.example.org" }, "public_url"},
		{"public URL of another scheme", func(c *config.Config) { c.PublicURL = "ftp://registry.example.org" }, "public_url"},
		{"public URL without host", func(c *config.Config) { c.PublicURL = "https://" }, "public_url"},
		{"unparsable public URL", func(c *config.Config) { c.PublicURL = "http://[::1" }, "public_url"},
		{"zero default rate", func(c *config.Config) { c.RateLimits.DefaultPerMinute = 0 }, "default_per_minute"},
		{"negative auth burst", func(c *config.Config) { c.RateLimits.AuthBurst = -1 }, "auth_burst"},
		{"zero login email burst", func(c *config.Config) { c.RateLimits.LoginEmailBurst = 0 }, "login_email_burst"},
		{"smtp host without from", func(c *config.Config) { c.SMTP.Host = "mail.example.org" }, "smtp.from"},
		{"zero login email address rate", func(c *config.Config) { c.RateLimits.LoginEmailAddressPerMinute = 0 }, "login_email_address_per_minute"},
		{"no password hashing memory", func(c *config.Config) { c.PasswordHashing.MaxMemoryMiB = 0 }, "password_hashing.max_memory_mib"},
		{"negative password queue", func(c *config.Config) { c.PasswordHashing.MaxWaiting = -1 }, "max_waiting"},
		{"negative password wait", func(c *config.Config) { c.PasswordHashing.WaitTimeout = -time.Second }, "wait_timeout"},
		{"metrics addr without port", func(c *config.Config) { c.Metrics.Addr = "127.0.0.1" }, "metrics.addr"},
		{"metrics addr is the public addr", func(c *config.Config) { c.Metrics.Addr = c.Addr }, "metrics.addr"},
		{"short metrics token", func(c *config.Config) { c.Metrics.Token = "short" }, "metrics.token"},
		{"metrics token with a space", func(c *config.Config) { c.Metrics.Token = "a long token with spaces" }, "metrics.token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mutate(&c)
			err := c.Finish()
			if err == nil {
				t.Fatalf("Finish accepted %+v", c)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

func TestFinish_AcceptsEveryLogLevel(t *testing.T) {
	for _, l := range []string{"debug", "info", "warn", "error"} {
		c := config.Default()
		c.LogLevel = l
		if err := c.Finish(); err != nil {
			t.Errorf("log level %q: %v", l, err)
		}
	}
}

func TestFinish_DerivedPublicURLHasAHost(t *testing.T) {
	c := config.Default()
	c.Addr = ":8420"
	if err := c.Finish(); err != nil {
		return // refusing is fine: the operator must set public_url
	}
	if u, err := url.Parse(c.PublicURL); err != nil || u.Hostname() == "" {
		t.Errorf("Finish accepted the derived PublicURL %q, which has no host name for links", c.PublicURL)
	}
}

func TestMasked_HidesSecrets(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	tests := []struct {
		name   string
		mutate func(*config.Config)
		keep   []string // what must still show
	}{
		{"postgres userinfo", func(c *config.Config) {
			c.Store = "postgres://sovereign:" + secret + "@db.internal:5432/sovereign?sslmode=require"
		},
			[]string{"sovereign", "db.internal:5432", "sslmode=require"}},
		{"postgres password query", func(c *config.Config) {
			c.Store = "postgres://db.internal/sovereign?user=sovereign&password=" + secret + "&sslmode=disable"
		}, []string{"db.internal", "user=sovereign", "sslmode=disable"}},
		{"postgresql scheme", func(c *config.Config) { c.Store = "postgresql://u:" + secret + "@db/x" }, []string{"u", "db"}},
		{"redis password only", func(c *config.Config) { c.Redis = "redis://:" + secret + "@cache:6379/0" }, []string{"cache:6379"}},
		{"redis user and password", func(c *config.Config) { c.Redis = "rediss://default:" + secret + "@cache:6380" }, []string{"default", "cache:6380"}},
		{"smtp password", func(c *config.Config) {
			c.SMTP = config.SMTP{Host: "mail", Port: 465, Username: "mailer", Password: secret, From: "a@b.c"}
		}, []string{"mailer", "mail"}},
		{"metrics token", func(c *config.Config) {
			c.Metrics = config.Metrics{Addr: "127.0.0.1:9420", Token: secret + "-long-enough"}
		}, []string{"127.0.0.1:9420"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mutate(&c)
			out := c.Masked()
			if strings.Contains(out, secret) {
				t.Fatalf("secret shown:\n%s", out)
			}
			if !strings.Contains(out, "xxxxx") {
				t.Errorf("no mask in:\n%s", out)
			}
			for _, k := range tt.keep {
				if !strings.Contains(out, k) {
					t.Errorf("%q hidden too:\n%s", k, out)
				}
			}
		})
	}
}

func TestMasked_IsYAMLOfTheConfigAndLeavesItUnchanged(t *testing.T) {
	c := config.Default()
	c.Store = "postgres://u:pw@db/x"
	c.SMTP.Password = "pw"
	out := c.Masked()
	var back config.Config
	if err := yaml.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("Masked is not YAML: %v\n%s", err, out)
	}
	if back.Addr != c.Addr || back.RateLimits != c.RateLimits || back.SMTP.Password != "xxxxx" || back.Store != "postgres://u:xxxxx@db/x" {
		t.Errorf("Masked = %+v", back)
	}
	if c.Store != "postgres://u:pw@db/x" || c.SMTP.Password != "pw" {
		t.Errorf("Masked changed the configuration: %+v", c)
	}
}

func TestMasked_LeavesEmptySecretsEmpty(t *testing.T) {
	c := config.Default()
	out := c.Masked()
	if strings.Contains(out, "xxxxx") {
		t.Errorf("mask shown for an unset secret:\n%s", out)
	}
	c.Store = "sqlite:///var/lib/sovereign/sovereign.db"
	if out := c.Masked(); !strings.Contains(out, "sqlite:///var/lib/sovereign/sovereign.db") {
		t.Errorf("sqlite DSN changed:\n%s", out)
	}
}

func TestMasked_HidesSecretsInUnparsableURLs(t *testing.T) {
	for dsn, secret := range map[string]string{
		"postgres://sovereign:pa%zzword@db/sovereign": "pa%zzword",  // bad escape
		"postgres://sovereign:pa#word@db/sovereign":   "pa#word",    // '#' cuts the authority
		"redis://:pa ss word@cache:6379":              "pa ss word", // space
	} {
		c := config.Default()
		c.Store, c.Redis = dsn, dsn
		if out := c.Masked(); strings.Contains(out, secret) {
			t.Errorf("DSN %q: password shown:\n%s", dsn, out)
		}
	}
}

func TestEnvNames(t *testing.T) {
	names := config.EnvNames()
	for _, want := range []string{"SOVEREIGN_ADDR", "SOVEREIGN_DATA", "SOVEREIGN_PUBLIC_URL", "SOVEREIGN_SMTP_HOST",
		"SOVEREIGN_SMTP_PASSWORD", "SOVEREIGN_RATE_LIMITS_AUTH_BURST", "SOVEREIGN_RATE_LIMITS_LOGIN_EMAIL_PER_MINUTE", "SOVEREIGN_SHUTDOWN_TIMEOUT", "SOVEREIGN_TRACING_OTLP_ENDPOINT"} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames lacks %s: %v", want, names)
		}
	}
	seen := map[string]bool{}
	for _, n := range names {
		if !strings.HasPrefix(n, config.EnvPrefix) || seen[n] || strings.Contains(n, "__") || strings.HasSuffix(n, "_") {
			t.Errorf("bad or duplicate name %q", n)
		}
		seen[n] = true
	}
	if len(names) != 60 {
		t.Errorf("EnvNames has %d names, want one per setting (60): %v", len(names), names)
	}
}

func TestEnvNames_EveryNameIsRead(t *testing.T) {
	// Setting every variable to a value of its field's type must change the configuration.
	for _, name := range config.EnvNames() {
		c := config.Default()
		before := c
		value := "7"
		if strings.HasSuffix(name, "_TIMEOUT") || strings.HasSuffix(name, "_INTERVAL") || strings.HasSuffix(name, "_TTL") || strings.HasSuffix(name, "_LAG") {
			value = "7s"
		}
		if err := c.LoadEnv([]string{name + "=" + value}); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c == before {
			t.Errorf("%s=%s changed nothing", name, value)
		}
	}
}

func TestFinish_ServicesAndPolicyBundle(t *testing.T) {
	c := config.Default()
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if c.IdentityDir != filepath.Join("./data", "identity") || c.SVIDTTL != time.Hour || c.RegistryName != "main" || c.PolicyBundleInterval != 30*time.Second {
		t.Errorf("service defaults: %+v", c)
	}

	c = config.Default()
	if err := c.LoadEnv([]string{"SOVEREIGN_POLICY_BUNDLE=https://opa.example/bundles/sovereign.tar.gz", "SOVEREIGN_POLICY_BUNDLE_INTERVAL=5s",
		"SOVEREIGN_TEG_URL=https://teg.internal:8443", "SOVEREIGN_MTLS_ADDR=0.0.0.0:8443", "SOVEREIGN_REGISTRY_NAME=eu-1",
		"SOVEREIGN_IDENTITY_DIR=/ca", "SOVEREIGN_SVID_TTL=10m"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if c.PolicyBundle != "https://opa.example/bundles/sovereign.tar.gz" || c.PolicyBundleInterval != 5*time.Second || c.TEGURL != "https://teg.internal:8443" ||
		c.MTLSAddr != "0.0.0.0:8443" || c.RegistryName != "eu-1" || c.IdentityDir != "/ca" || c.SVIDTTL != 10*time.Minute {
		t.Errorf("from the environment: %+v", c)
	}

	for name, mutate := range map[string]func(*config.Config){
		"bundle and dir":          func(c *config.Config) { c.PolicyBundle, c.PolicyDir = "https://opa/b.tar.gz", "/rego" },
		"bundle not a URL":        func(c *config.Config) { c.PolicyBundle = "/path/b.tar.gz" },
		"bundle interval 0":       func(c *config.Config) { c.PolicyBundleInterval = 0 },
		"reputation interval 1ms": func(c *config.Config) { c.ReputationInterval = time.Millisecond },
		"teg_url plain http":      func(c *config.Config) { c.TEGURL = "http://teg:8443" },
		"teg_url without host":    func(c *config.Config) { c.TEGURL = "https://" },
		"mtls_addr not an addr":   func(c *config.Config) { c.MTLSAddr = "8443" },
		"registry_name slash":     func(c *config.Config) { c.RegistryName = "a/b" },
		"registry_name empty":     func(c *config.Config) { c.RegistryName = "" },
		"registry_name dotdot":    func(c *config.Config) { c.RegistryName = ".." },
		"svid_ttl zero":           func(c *config.Config) { c.SVIDTTL = 0 },
		"svid_ttl two days":       func(c *config.Config) { c.SVIDTTL = 48 * time.Hour },
	} {
		c := config.Default()
		mutate(&c)
		if err := c.Finish(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFinish_IdentityModes(t *testing.T) {
	c := config.Default()
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if c.IdentityMode != config.IdentityBuiltin || c.SpireServerSocket != "" || c.SpireWorkloadSocket != "" {
		t.Errorf("identity defaults: mode %q, sockets %q %q", c.IdentityMode, c.SpireServerSocket, c.SpireWorkloadSocket)
	}

	c = config.Default()
	if err := c.LoadEnv([]string{"SOVEREIGN_IDENTITY_MODE=spire", "SOVEREIGN_SPIRE_SERVER_SOCKET=/run/spire/server/api.sock",
		"SOVEREIGN_SPIRE_WORKLOAD_SOCKET=unix:///run/spire/agent/public/api.sock"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if c.IdentityMode != config.IdentitySpire || c.SpireServerSocket != "/run/spire/server/api.sock" || c.SpireWorkloadSocket != "unix:///run/spire/agent/public/api.sock" {
		t.Errorf("from the environment: %+v", c)
	}
	// The Workload API endpoint may be left to SPIFFE_ENDPOINT_SOCKET, or be a TCP address.
	for _, addr := range []string{"", "tcp://127.0.0.1:8081"} {
		c := config.Default()
		c.IdentityMode, c.SpireServerSocket, c.SpireWorkloadSocket = config.IdentitySpire, "/run/spire/server/api.sock", addr
		if err := c.Finish(); err != nil {
			t.Errorf("spire_workload_socket %q: %v", addr, err)
		}
	}

	for name, c := range map[string]struct {
		mutate func(*config.Config)
		want   string
	}{
		"unknown mode":                {func(c *config.Config) { c.IdentityMode = "vault" }, `identity_mode "vault" must be "builtin" or "spire"`},
		"empty mode":                  {func(c *config.Config) { c.IdentityMode = "" }, "identity_mode"},
		"spire without server socket": {func(c *config.Config) { c.IdentityMode = config.IdentitySpire }, "needs spire_server_socket"},
		"server socket as a URL": {func(c *config.Config) {
			c.IdentityMode, c.SpireServerSocket = config.IdentitySpire, "unix:///run/api.sock"
		}, "must be a file path"},
		"workload socket over http": {func(c *config.Config) {
			c.IdentityMode, c.SpireServerSocket, c.SpireWorkloadSocket = config.IdentitySpire, "/s", "http://127.0.0.1:8081"
		}, "spire_workload_socket"},
		"workload socket not a URL": {func(c *config.Config) {
			c.IdentityMode, c.SpireServerSocket, c.SpireWorkloadSocket = config.IdentitySpire, "/s", "/run/api.sock"
		}, "spire_workload_socket"},
		"server socket in builtin mode": {func(c *config.Config) { c.SpireServerSocket = "/run/spire/server/api.sock" }, "need identity_mode \"spire\""},
		"workload socket in builtin":    {func(c *config.Config) { c.SpireWorkloadSocket = "unix:///run/api.sock" }, "SOVEREIGN_IDENTITY_MODE=spire"},
	} {
		cfg := config.Default()
		c.mutate(&cfg)
		err := cfg.Finish()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}

func TestFinish_StoreReplicaNeedsPostgres(t *testing.T) {
	c := config.Default()
	c.StoreReplica = "postgres://standby/db"
	if err := c.Finish(); err == nil || !strings.Contains(err.Error(), "store_replica needs a PostgreSQL store") {
		t.Fatalf("SQLite store with a replica: err = %v", err)
	}
	c = config.Default()
	c.Store, c.StoreReplica, c.StoreReplicaMaxLag = "postgres://primary/db", "postgres://u:secret@standby/db", -time.Second
	if err := c.Finish(); err == nil || !strings.Contains(err.Error(), "store_replica_max_lag") {
		t.Fatalf("negative lag: err = %v", err)
	}
	c.StoreReplicaMaxLag = 3 * time.Second
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if m := c.Masked(); strings.Contains(m, "secret") {
		t.Fatalf("Masked shows the replica's password:\n%s", m)
	}
	env := []string{"SOVEREIGN_STORE_REPLICA=postgres://standby/x", "SOVEREIGN_STORE_REPLICA_MAX_LAG=750ms"}
	c = config.Default()
	if err := c.LoadEnv(env); err != nil || c.StoreReplica != "postgres://standby/x" || c.StoreReplicaMaxLag != 750*time.Millisecond {
		t.Fatalf("LoadEnv: %v %+v", err, c)
	}
}

func TestFinish_TLS(t *testing.T) {
	c := config.Default()
	c.TLS.Cert = "cert.pem"
	if err := c.Finish(); err == nil || !strings.Contains(err.Error(), "tls.key") {
		t.Fatalf("a certificate without its key: %v", err)
	}
	c = config.Default()
	if err := c.LoadEnv([]string{"SOVEREIGN_TLS_CERT=c.pem", "SOVEREIGN_TLS_KEY=k.pem"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if !c.TLS.Enabled() || c.PublicURL != "https://127.0.0.1:8420" {
		t.Fatalf("TLS %+v, public URL %s", c.TLS, c.PublicURL)
	}
	c = config.Default()
	if err := c.Finish(); err != nil || c.PublicURL != "http://127.0.0.1:8420" {
		t.Fatalf("without TLS: public URL %s, %v", c.PublicURL, err)
	}
}
