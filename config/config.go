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
	// Redis, when set (redis://…), holds rate limits shared by replicas.
	Redis string `yaml:"redis"`
	// PublicURL is the base URL users reach this server at (default http://Addr).
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
	// DecisionLog, when set, is a file that receives one JSON line per policy decision (OPA's
	// decision-log event format, secrets masked); "-" means standard output.
	DecisionLog string `yaml:"decision_log"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	SMTP            SMTP          `yaml:"smtp"`
	RateLimits      RateLimits    `yaml:"rate_limits"`
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
	DefaultPerMinute    int `yaml:"default_per_minute"`
	DefaultBurst        int `yaml:"default_burst"`
	AuthPerMinute       int `yaml:"auth_per_minute"`
	AuthBurst           int `yaml:"auth_burst"`
	LoginEmailPerMinute int `yaml:"login_email_per_minute"`
	LoginEmailBurst     int `yaml:"login_email_burst"`
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
		SMTP:            SMTP{Port: 587},
		RateLimits: RateLimits{
			DefaultPerMinute: 1200, DefaultBurst: 200,
			AuthPerMinute: 20, AuthBurst: 10,
			LoginEmailPerMinute: 5, LoginEmailBurst: 5,
		},
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
	if c.PublicURL == "" {
		host, port, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return fmt.Errorf("config: addr %q is not host:port: %w", c.Addr, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "localhost" // a wildcard listen address is reached through a real name
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
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
		"auth_per_minute": r.AuthPerMinute, "auth_burst": r.AuthBurst, "login_email_per_minute": r.LoginEmailPerMinute, "login_email_burst": r.LoginEmailBurst} {
		if n <= 0 {
			return fmt.Errorf("config: rate_limits.%s must be positive", name)
		}
	}
	if c.SMTP.Host != "" && c.SMTP.From == "" {
		return fmt.Errorf("config: smtp.from is required when smtp.host is set")
	}
	return nil
}

// Masked returns the configuration as YAML with secrets hidden: passwords in DSNs and URLs, and
// fields tagged secret.
func (c Config) Masked() string {
	m := c
	m.Store = maskURL(m.Store)
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
