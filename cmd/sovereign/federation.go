package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/federation/fedhttp"
)

func peerLine(p fedhttp.PeerView) string {
	s := fmt.Sprintf("%s  %-16s %-24s %s  %s", p.ID, p.State, p.TrustDomain, p.BaseURL, p.Name)
	if h := p.Health; h != nil {
		s += fmt.Sprintf("\n    breaker %s  last latency %dms  consecutive errors %d", h.Breaker, h.LastLatencyMS, h.ConsecutiveErrors)
		if h.LastSuccessAt != nil {
			s += "  last success " + h.LastSuccessAt.Format("2006-01-02T15:04:05Z")
		}
		if h.LastError != "" {
			s += "\n    last error: " + h.LastError
		}
	}
	if b := p.Bundle; b != nil {
		switch {
		case b.Error != "":
			s += "\n    bundle: " + b.Error
		case b.RefreshedAt != nil:
			s += "\n    bundle fetched " + b.RefreshedAt.Format("2006-01-02T15:04:05Z")
		}
	}
	return s
}

func newFederation() *cobra.Command {
	t := &tokenFlags{}
	c := &cobra.Command{Use: "federation", Short: "Peer registries: propose, approve (admin), status, federated query"}
	pf := c.PersistentFlags()
	pf.StringVar(&t.registry, "registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "base URL of the registry (env SOVEREIGN_REGISTRY)")
	pf.StringVar(&t.credential, "credential", "", "your access token or API key (env SOVEREIGN_TOKEN, SOVEREIGN_API_KEY)")
	pf.BoolVar(&t.asJSON, "json", false, "print JSON")

	peers := &cobra.Command{
		Use: "peers [id]", Short: "List the peers (state, health, bundle), or show one", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				var p fedhttp.PeerView
				if err := cl.do("GET", "/api/v1/federation/peers/"+url.PathEscape(args[0]), nil, nil, &p); err != nil {
					return err
				}
				t.print(cmd, p, peerLine(p))
				return nil
			}
			var list fedhttp.PeerList
			if err := cl.do("GET", "/api/v1/federation/peers", nil, nil, &list); err != nil {
				return err
			}
			lines := make([]string, 0, len(list.Items))
			for _, p := range list.Items {
				lines = append(lines, peerLine(p))
			}
			if len(lines) == 0 {
				lines = append(lines, "(no peers)")
			}
			t.print(cmd, list, strings.Join(lines, "\n"))
			return nil
		},
	}
	var prop fedhttp.PeerProposal
	propose := &cobra.Command{
		Use: "propose", Short: "Propose a peer registry (a verified developer); an admin approves it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := t.client()
			if err != nil {
				return err
			}
			if prop.Name == "" {
				prop.Name = prop.TrustDomain
			}
			var p fedhttp.PeerView
			if err := cl.do("POST", "/api/v1/federation/peers", nil, prop, &p); err != nil {
				return err
			}
			t.print(cmd, p, peerLine(p))
			return nil
		},
	}
	f := propose.Flags()
	f.StringVar(&prop.Name, "name", "", "a label for the peer (default: its trust domain)")
	f.StringVar(&prop.BaseURL, "base-url", "", "the peer's federation endpoint, https://host:port (its federation.addr)")
	f.StringVar(&prop.TrustDomain, "trust-domain", "", "the peer's SPIFFE trust domain")
	f.StringVar(&prop.BundleEndpoint, "bundle-endpoint", "", "the peer's SPIFFE bundle endpoint, https://host/.well-known/spiffe-bundle")
	for _, name := range []string{"base-url", "trust-domain", "bundle-endpoint"} {
		_ = propose.MarkFlagRequired(name)
	}
	c.AddCommand(peers, propose, newFederationStatus(t), newFederationQuery(t))
	for _, a := range []struct{ name, short string }{
		{"approve", "Approve a proposed peer: its bundle is fetched and it is queried (admin)"},
		{"reject", "Reject a proposed peer (admin)"},
		{"deactivate", "Stop federating with an active peer (admin)"},
		{"reactivate", "Federate again with a deactivated peer (admin)"},
	} {
		var reason string
		d := &cobra.Command{
			Use: a.name + " <id>", Short: a.short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, err := t.client()
				if err != nil {
					return err
				}
				var p fedhttp.PeerView
				if err := cl.do("POST", "/api/v1/federation/peers/"+url.PathEscape(args[0])+"/"+a.name, nil, fedhttp.PeerDecision{Reason: reason}, &p); err != nil {
					return err
				}
				t.print(cmd, p, peerLine(p))
				return nil
			},
		}
		d.Flags().StringVar(&reason, "reason", "", "a note kept with the decision")
		c.AddCommand(d)
	}
	return c
}
