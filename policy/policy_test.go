package policy_test

import (
	"context"
	"testing"

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

func BenchmarkDecide(b *testing.B) {
	e := policy.New()
	in := policy.Input{Subject: policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a", Roles: []string{"developer"}, AuthMethod: policy.AuthSession},
		Action: policy.ActionDeveloperRead, Resource: policy.Resource{Kind: "developer", ID: "dev_a", Owner: "dev_a"}}
	ctx := context.Background()
	for b.Loop() {
		if d, _ := e.Decide(ctx, policy.QueryAllow, in); !d.Allow {
			b.Fatal("denied")
		}
	}
}
