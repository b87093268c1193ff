package server_test

import (
	"sync"
	"testing"

	"github.com/sovereign-stack/sovereign/config"
)

// manyTokens lets a developer ask for many bootstrap tokens at once.
func manyTokens(c *config.Config) {
	c.RateLimits.BootstrapPerMinute, c.RateLimits.BootstrapBurst = 100000, 100000
}

// registerMany registers n agents of dev concurrently, each with its own bootstrap token, and
// returns the registrations (all must succeed).
func (s *stack) registerMany(dev developer, n int) []resp {
	s.t.Helper()
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(dev.Access)).want(s.t, 201, "").str("token")
	}
	out := make([]resp, n)
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			out[i] = s.do("POST", "/api/v1/onboard/register", registerBody("Granted", tok), hdr{"Bootstrap-Token", tok})
		})
	}
	wg.Wait()
	for _, r := range out {
		r.want(s.t, 201, "")
	}
	return out
}

// grants counts the registrations by their grant, and checks each one's reason and that its
// wallet holds the grant.
func (s *stack) grants(regs []resp) map[string]int {
	s.t.Helper()
	n := map[string]int{}
	for _, r := range regs {
		g := r.str("grant")
		n[g]++
		if want := map[bool]string{true: "GRANT_DAILY_CAP_REACHED", false: ""}[g == "0"]; r.str("grant_reason") != want {
			s.t.Fatalf("grant %s with reason %q, want %q: %s", g, r.str("grant_reason"), want, r.Raw)
		}
		b := s.do("GET", "/api/v1/token/balance?account="+r.str("agent_id"), nil, bearer(s.adminKey)).want(s.t, 200, "")
		if b.str("liquid") != g {
			s.t.Fatalf("registration says grant %s, the wallet holds %s", g, b.Raw)
		}
	}
	return n
}

// TestOnboarding_GrantDailyCapPerDeveloper: one developer's agents receive at most the daily
// cap (default 500 AVT: five 100 AVT grants) however many register, even all at once; the
// registrations past the cap succeed without a grant and say why; another developer has a cap
// of their own.
func TestOnboarding_GrantDailyCapPerDeveloper(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		if n := s.grants(s.registerMany(ada, 8)); n["100"] != 5 || n["0"] != 3 {
			t.Fatalf("grants %v, want five of 100 and three of 0", n)
		}
		if n := s.grants(s.registerMany(ada, 1)); n["0"] != 1 {
			t.Fatalf("past the cap: %v", n)
		}
		bob := s.register("bob@example.com", true)
		if n := s.grants(s.registerMany(bob, 1)); n["100"] != 1 {
			t.Fatalf("another developer: %v", n)
		}
	}, withGenesis, manyTokens)
}

// TestOnboarding_GrantDailyCapConfigured: the cap is an AVT amount ("0": no grants at all), or
// "unlimited".
func TestOnboarding_GrantDailyCapConfigured(t *testing.T) {
	for _, c := range []struct {
		limit string
		want  map[string]int
	}{
		{"250", map[string]int{"100": 2, "0": 2}},
		{"0", map[string]int{"0": 4}},
		{"unlimited", map[string]int{"100": 4}},
	} {
		t.Run(c.limit, func(t *testing.T) {
			eachStack(t, func(t *testing.T, s *stack) {
				ada := s.register("ada@example.com", true)
				n := s.grants(s.registerMany(ada, 4))
				if n["100"] != c.want["100"] || n["0"] != c.want["0"] {
					t.Fatalf("grants %v, want %v", n, c.want)
				}
			}, withGenesis, manyTokens, func(cfg *config.Config) { cfg.Onboarding.GrantDailyCapPerDeveloper = c.limit })
		})
	}
}

// TestOnboarding_EmbeddedDefaults: with nothing configured, `up` mints the genesis supply and
// grants 100 AVT.
func TestOnboarding_EmbeddedDefaults(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		if b := s.do("GET", "/api/v1/token/balance?account=sys:treasury", nil, bearer(s.adminKey)).want(t, 200, ""); b.str("total") != config.EmbeddedGenesisSupply {
			t.Fatalf("treasury: %s", b.Raw)
		}
		ada := s.register("ada@example.com", true)
		if n := s.grants(s.registerMany(ada, 1)); n[config.EmbeddedStartingGrant] != 1 {
			t.Fatalf("grants %v", n)
		}
	}, func(c *config.Config) { c.Onboarding.GenesisSupply, c.Onboarding.StartingGrant = "", "" })
}

// TestServer_BadGrantSettingsRefused: a grant cap that is neither an amount nor "unlimited"
// stops the server at start.
func TestServer_BadGrantSettingsRefused(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Onboarding.GrantDailyCapPerDeveloper = "lots"
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := newServerErr(cfg); err == nil {
		t.Fatal("a server started with grant_daily_cap_per_developer: lots")
	}
}
