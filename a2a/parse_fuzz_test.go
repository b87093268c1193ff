package a2a

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// FuzzExtensionsHeader: any A2A-Extensions value parses to trimmed, non-empty, distinct URIs
// holding no comma, and activation never panics.
func FuzzExtensionsHeader(f *testing.F) {
	for _, s := range []string{"", "urn:a", "urn:a, urn:b", " , ,urn:a,urn:a", "\xff,\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		ctx := withRequestedExtensions(context.Background(), []string{h})
		got := RequestedExtensions(ctx)
		for i, u := range got {
			if u == "" || u != strings.TrimSpace(u) || strings.Contains(u, ",") || slices.Contains(got[:i], u) {
				t.Fatalf("%q parsed to %q", h, got)
			}
			ActivateExtension(ctx, u)
		}
		if len(ActivatedExtensions(ctx)) != len(got) {
			t.Fatalf("activated %v of %v", ActivatedExtensions(ctx), got)
		}
	})
}

// FuzzGRPCTarget: an endpoint either is refused or gives a non-empty target without a scheme
// the gRPC resolver would not know.
func FuzzGRPCTarget(f *testing.F) {
	for _, s := range []string{"127.0.0.1:1", "grpc://h:1", "grpcs://h", "https://h:443/x", "dns:///h:1", "", "ftp://x", "://"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, endpoint string, tlsConf bool) {
		target, _, err := grpcTarget(endpoint, tlsConf)
		if err != nil {
			return
		}
		if target == "" {
			t.Fatalf("%q gave an empty target", endpoint)
		}
		for _, bad := range []string{"grpc://", "grpcs://", "http://", "https://"} {
			if strings.HasPrefix(target, bad) {
				t.Fatalf("%q gave target %q", endpoint, target)
			}
		}
	})
}
