package a2a_test

import (
	"context"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// TestPartsAndMessages: the constructors build what the proto expects, and data round-trips.
func TestPartsAndMessages(t *testing.T) {
	type point struct {
		X, Y int
		Tag  string `json:"tag"`
	}
	data, err := a2a.DataPart(point{1, 2, "p"})
	if err != nil || data.GetMediaType() != "application/json" || data.GetData().GetStructValue().GetFields()["tag"].GetStringValue() != "p" {
		t.Fatalf("DataPart = %v, %v", data, err)
	}
	var back point
	if err := a2a.DecodeData(data, &back); err != nil || back != (point{1, 2, "p"}) {
		t.Fatalf("DecodeData = %+v, %v", back, err)
	}
	if err := a2a.DecodeData(a2a.TextPart("x"), &back); err == nil {
		t.Fatal("DecodeData of a text part")
	}
	if _, err := a2a.DataPart(func() {}); err == nil {
		t.Fatal("DataPart of a func")
	}
	m := a2a.NewUserMessage(a2a.TextPart("hello"), a2a.FilePart([]byte{1}, "image/png", "a.png"), a2a.FileURLPart("https://x/y.pdf", "application/pdf", ""), a2a.TextPart("world"))
	if m.GetRole() != a2apb.Role_ROLE_USER || m.GetMessageId() == "" || len(m.GetParts()) != 4 || a2a.MessageText(m) != "hello\nworld" {
		t.Fatalf("message = %v", m)
	}
	if p := m.GetParts()[1]; string(p.GetRaw()) != "\x01" || p.GetFilename() != "a.png" || p.GetMediaType() != "image/png" {
		t.Fatalf("file part = %v", p)
	}
	if a := a2a.NewArtifact("out", a2a.TextPart("x")); a.GetArtifactId() == "" || a.GetName() != "out" {
		t.Fatalf("artifact = %v", a)
	}
	if a2a.NewAgentMessage().GetRole() != a2apb.Role_ROLE_AGENT {
		t.Fatal("agent role")
	}
}

// TestNewServer_PushDeclaredOnce: the card's push capability and ServerConfig.Push must agree.
func TestNewServer_PushDeclaredOnce(t *testing.T) {
	yes := true
	for name, cfg := range map[string]a2a.ServerConfig{
		"declared without a sender": {Card: &a2apb.AgentCard{Capabilities: &a2apb.AgentCapabilities{PushNotifications: &yes}}},
		"sender without the card":   {Card: &a2apb.AgentCard{}, Push: noPush{}},
		"sender without a card":     {Push: noPush{}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewServer did not refuse", name)
				}
			}()
			cfg.Executor = callerExec{}
			a2a.NewServer(cfg)
		}()
	}
	s := a2a.NewServer(a2a.ServerConfig{Executor: callerExec{}, Push: noPush{}, Card: &a2apb.AgentCard{Capabilities: &a2apb.AgentCapabilities{PushNotifications: &yes}}})
	_ = s.Close()
}

type noPush struct{}

func (noPush) Check(context.Context, *a2apb.TaskPushNotificationConfig) error { return nil }
func (noPush) Send(context.Context, *a2apb.TaskPushNotificationConfig, *a2apb.StreamResponse) error {
	return nil
}
