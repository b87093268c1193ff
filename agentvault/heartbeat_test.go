package agentvault_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/config"
)

// TestAgent_StaysActivePastTheStalenessWindow runs, on a real registry whose heartbeat
// interval is 1 s (agents silent for 3 s are marked inactive), one agent with the default
// heartbeats and one with none: past the window the first is still active in discovery and
// the second inactive; a Heartbeater brings the second back.
func TestAgent_StaysActivePastTheStalenessWindow(t *testing.T) {
	st := startStackWith(t, func(c *config.Config) { c.Onboarding.HeartbeatInterval = time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	run := func(name string, interval time.Duration) (*agentvault.Agent, chan error) {
		ln, base := listen(t)
		r := st.register(t, testCard(name, base, nil), keys)
		a := &agentvault.Agent{Executor: echo{}, Card: r.Reg.Card.Card, Identity: r.Reg.Identity, RegistryURL: st.URL, Keys: keys,
			HeartbeatInterval: interval, Listener: ln}
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		return a, done
	}
	alive, aliveDone := run("Alive Agent", 0) // the default: follows the registry's interval
	silent, silentDone := run("Silent Agent", -1)
	reg := agentvault.NewRegistry(st.URL, agentvault.BearerToken(st.AdminKey))
	status := func(id string) string {
		c, err := reg.GetCard(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}

	// Well past the window (3 s) and the sweeps that follow it (every 1 s).
	deadline := time.Now().Add(15 * time.Second)
	for status(silent.Identity.ID) != "inactive" {
		if time.Now().After(deadline) {
			t.Fatalf("the silent agent is still %q", status(silent.Identity.ID))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if got := status(alive.Identity.ID); got != "active" {
		t.Fatalf("the heartbeating agent is %q after %d heartbeats (last error %v)", got, alive.Heartbeats(), alive.LastHeartbeatError())
	}
	// Following the registry's 1 s interval, it beats every 0.5 s (not every 30 s).
	if n := alive.Heartbeats(); n < 6 {
		t.Fatalf("%d heartbeats", n)
	}
	if silent.Heartbeats() != 0 {
		t.Fatalf("the agent without heartbeats sent %d", silent.Heartbeats())
	}

	// A heartbeat brings the silent agent back, and the answer states the rule.
	ts, err := agentvault.TokenSourceFromKeyStore(ctx, st.URL, keys, silent.Identity.ID)
	if err != nil {
		t.Fatal(err)
	}
	beats := make(chan *agentvault.AgentInfo, 1)
	hctx, stopHB := context.WithCancel(ctx)
	hb := &agentvault.Heartbeater{Registry: agentvault.NewRegistry(st.URL, ts), Credential: ts,
		OnBeat: func(info *agentvault.AgentInfo, err error) {
			if err != nil {
				t.Errorf("heartbeat: %v", err)
			}
			select {
			case beats <- info:
			default:
			}
		}}
	hbDone := make(chan struct{})
	go func() { hb.Run(hctx); close(hbDone) }()
	info := <-beats
	if info.HeartbeatIntervalSeconds != 1 || info.InactiveAfterSeconds != 3 || info.Status != "active" {
		t.Fatalf("heartbeat answer %+v", info)
	}
	if got := status(silent.Identity.ID); got != "active" {
		t.Fatalf("after a heartbeat the agent is %q", got)
	}
	stopHB()
	<-hbDone
	cancel()
	for _, d := range []chan error{aliveDone, silentDone} {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
}
