package policy_test

import (
	"context"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/policy"
)

func TestDecide(t *testing.T) {
	dev := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", Roles: []string{policy.RoleDeveloper}, AuthMethod: policy.AuthSession}
	admin := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_admin", Roles: []string{policy.RoleDeveloper, policy.RoleAdmin}, AuthMethod: policy.AuthAPIKey, Scopes: []string{"read", "write"}}
	roKey := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", Roles: []string{policy.RoleDeveloper}, AuthMethod: policy.AuthAPIKey, Scopes: []string{"read"}}
	own := policy.Resource{Kind: "developer", ID: "dev_a", Owner: "dev_a"}
	other := policy.Resource{Kind: "developer", ID: "dev_b", Owner: "dev_b"}
	cases := []struct {
		name     string
		query    string
		subject  policy.Subject
		action   string
		resource policy.Resource
		allow    bool
	}{
		{"owner reads self", policy.QueryAllow, dev, policy.ActionDeveloperRead, own, true},
		{"owner cannot read other", policy.QueryAllow, dev, policy.ActionDeveloperRead, other, false},
		{"developer cannot list", policy.QueryAllow, dev, policy.ActionDeveloperList, policy.Resource{Kind: "developer"}, false},
		{"admin lists", policy.QueryAllow, admin, policy.ActionDeveloperList, policy.Resource{Kind: "developer"}, true},
		{"admin reads other", policy.QueryAllow, admin, policy.ActionDeveloperRead, other, true},
		{"anonymous denied", policy.QueryAllow, policy.Subject{Kind: policy.KindAnonymous}, policy.ActionDeveloperRead, own, false},
		{"read-only key reads", policy.QueryAllow, roKey, policy.ActionDeveloperRead, own, true},
		{"read-only key cannot write", policy.QueryAllow, roKey, policy.ActionDeveloperUpdate, own, false},
		{"API key cannot create keys", policy.QueryAllow, roKey, policy.ActionAPIKeyCreate, own, false},
		{"admin API key cannot create keys either", policy.QueryAllow, admin, policy.ActionAPIKeyCreate, policy.Resource{Owner: "dev_admin"}, false},
		{"session creates keys", policy.QueryAllow, dev, policy.ActionAPIKeyCreate, own, true},
		{"unknown action denied (default deny)", policy.QueryAllow, admin, "teg.mint", own, false},
		{"unknown query denied", "sovereign.other", admin, policy.ActionDeveloperRead, own, false},
	}
	e := policy.New()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), c.query, policy.Input{Subject: c.subject, Action: c.action, Resource: c.resource})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != c.allow {
				t.Fatalf("allow = %v (%s), want %v", d.Allow, d.Reason, c.allow)
			}
			if !d.Allow && d.Reason == "" {
				t.Fatal("denial without a reason")
			}
		})
	}
}

// BenchmarkDecide measures one decision for the typical input (a developer with a login
// session reading their own account): from the decision cache (the default), evaluated every
// time (cache off), with a decision log, and with a different subject every call.
func BenchmarkDecide(b *testing.B) {
	in := policy.Input{Subject: policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", Roles: []string{"developer"}, AuthMethod: policy.AuthSession},
		Action: policy.ActionDeveloperRead, Resource: policy.Resource{Kind: "developer", ID: "dev_a", Owner: "dev_a"}}
	ctx := context.Background()
	run := func(b *testing.B, e *policy.Engine, vary bool) {
		in := in
		i := 0
		for b.Loop() {
			if vary {
				i++
				in.Subject.ID = "dev_" + strconv.Itoa(i)
				in.Resource.Owner = in.Subject.ID
			}
			if d, _ := e.Decide(ctx, policy.QueryAllow, in); !d.Allow {
				b.Fatal("denied")
			}
		}
	}
	engine := func(b *testing.B, opts ...policy.Option) *policy.Engine {
		e, err := policy.NewWithOptions(opts...)
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	b.Run("cached", func(b *testing.B) { run(b, policy.New(), false) })
	b.Run("uncached", func(b *testing.B) { run(b, engine(b, policy.WithDecisionCache(0)), false) })
	b.Run("uncached+log", func(b *testing.B) {
		run(b, engine(b, policy.WithDecisionCache(0), policy.WithDecisionLog(io.Discard)), false)
	})
	b.Run("cache-misses", func(b *testing.B) { run(b, policy.New(), true) })
	b.Run("cached+log", func(b *testing.B) { run(b, engine(b, policy.WithDecisionLog(io.Discard)), false) })
	b.Run("parallel/cached", func(b *testing.B) {
		e := policy.New()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if d, _ := e.Decide(ctx, policy.QueryAllow, in); !d.Allow {
					b.Error("denied")
					return
				}
			}
		})
	})
	b.Run("parallel/uncached", func(b *testing.B) {
		e := engine(b, policy.WithDecisionCache(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if d, _ := e.Decide(ctx, policy.QueryAllow, in); !d.Allow {
					b.Error("denied")
					return
				}
			}
		})
	})
}

// BenchmarkDecideLatency reports the distribution of single uncached decisions (p50, p90, p99
// in ns): the figure DESIGN §12 sets a target for (p50 ≤ 30 µs).
func BenchmarkDecideLatency(b *testing.B) {
	e, err := policy.NewWithOptions(policy.WithDecisionCache(0))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := policy.Input{Subject: policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", Roles: []string{"developer"}, AuthMethod: policy.AuthSession, CredentialID: "ses_1"},
		Action: policy.ActionDeveloperRead, Resource: policy.Resource{Kind: "developer", ID: "dev_a", Owner: "dev_a"},
		Context: policy.Context{Time: time.Now(), RequestID: "req_1"}}
	lat := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		start := time.Now()
		if d, _ := e.Decide(ctx, policy.QueryAllow, in); !d.Allow {
			b.Fatal("denied")
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	for _, q := range []struct {
		name string
		at   float64
	}{{"p50-ns", 0.50}, {"p90-ns", 0.90}, {"p99-ns", 0.99}} {
		b.ReportMetric(float64(lat[int(q.at*float64(len(lat)-1))].Nanoseconds()), q.name)
	}
}
