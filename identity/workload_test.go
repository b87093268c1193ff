package identity

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestWorkloadConfig_EndpointFromConfigThenEnvironment(t *testing.T) {
	t.Setenv(EndpointSocketEnv, "unix:///from/env.sock")
	if got, _ := (WorkloadConfig{Addr: "unix:///given.sock"}).addr(); got != "unix:///given.sock" {
		t.Errorf("explicit address: %q", got)
	}
	if got, _ := (WorkloadConfig{}).addr(); got != "unix:///from/env.sock" {
		t.Errorf("address from %s: %q", EndpointSocketEnv, got)
	}
	t.Setenv(EndpointSocketEnv, "")
	if _, err := (WorkloadConfig{}).addr(); err == nil || !strings.Contains(err.Error(), EndpointSocketEnv) {
		t.Errorf("no address: %v, want an error naming %s", err, EndpointSocketEnv)
	}
}

func TestOpenSources_FailWithoutAnEndpoint(t *testing.T) {
	t.Setenv(EndpointSocketEnv, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := OpenX509Source(ctx, WorkloadConfig{}); err == nil {
		t.Error("OpenX509Source without an endpoint succeeded")
	}
	if _, err := OpenJWTSource(ctx, WorkloadConfig{}); err == nil {
		t.Error("OpenJWTSource without an endpoint succeeded")
	}
	// An endpoint nobody serves: the source gives up when ctx ends.
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := OpenX509Source(short, WorkloadConfig{Addr: "unix:///nonexistent/api.sock"}); err == nil {
		t.Error("OpenX509Source on a missing socket succeeded")
	}
}
