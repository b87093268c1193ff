package agentvault_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/agentvault"
)

// TestAgent_EndToEnd registers an agent on a real embedded registry with a verified
// developer's key, runs it with an echo executor, resolves it by its registry id, sends it a
// message and reads the answer, and sees its heartbeats in /api/v1/agents/me.
func TestAgent_EndToEnd(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, base := listen(t)
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	r := st.register(t, testCard("Echo Agent", base, nil), keys)
	id := r.Reg.Identity.ID

	// The saved identity is the registered one.
	ident, err := agentvault.LoadIdentity(ctx, keys, id)
	if err != nil {
		t.Fatal(err)
	}
	if ident.DID != r.Reg.Identity.DID || ident.SPIFFEID != "spiffe://sovereign.test/agent/"+id {
		t.Fatalf("loaded identity %+v", ident)
	}

	agent := &agentvault.Agent{Executor: echo{}, Card: r.Reg.Card.Card, Identity: ident, RegistryURL: st.URL, Keys: keys,
		HeartbeatInterval: 50 * time.Millisecond, Listener: ln}
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()

	client := agentvault.NewClient(agentvault.WithRegistry(st.URL), agentvault.WithKeyStore(keys))
	res, err := client.Send(ctx, id, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := agentvault.AnswerText(res); got != "echo: hello" {
		t.Fatalf("answer %q (%v)", got, res)
	}
	task := res.GetTask()
	if task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("task state %v", task.GetStatus().GetState())
	}
	tgt, err := client.Target(ctx, id)
	if err != nil || tgt.ID != id || !strings.HasSuffix(tgt.CardURL, "/agents/"+id+"/.well-known/agent-card.json") {
		t.Fatalf("target %+v, %v", tgt, err)
	}

	// Streaming, get, list, cancel, resubscribe through the same resolved agent.
	var states []string
	var text string
	for ev, err := range client.Stream(ctx, id, "stream me") {
		if err != nil {
			t.Fatal(err)
		}
		if su := ev.GetStatusUpdate(); su != nil {
			states = append(states, su.GetStatus().GetState().String())
		}
		if au := ev.GetArtifactUpdate(); au != nil {
			text += agentvault.TextOf(au.GetArtifact().GetParts())
		}
	}
	if text != "echo: stream me" || len(states) == 0 || states[len(states)-1] != "TASK_STATE_COMPLETED" {
		t.Fatalf("stream: text %q, states %v", text, states)
	}
	got, err := client.GetTask(ctx, id, task.GetId())
	if err != nil || agentvault.TaskText(got) != "echo: hello" {
		t.Fatalf("get = %v, %v", got, err)
	}
	list, err := client.ListTasks(ctx, id, nil)
	if err != nil || len(list.GetTasks()) != 2 {
		t.Fatalf("list = %d tasks, %v", len(list.GetTasks()), err)
	}
	waiting, err := client.Send(ctx, id, "wait")
	if err != nil || waiting.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("wait = %v, %v", waiting, err)
	}
	for ev, err := range client.Resubscribe(ctx, id, waiting.GetTask().GetId()) {
		if err != nil || ev.GetTask().GetId() != waiting.GetTask().GetId() {
			t.Fatalf("resubscribe = %v, %v", ev, err)
		}
		break // the current state came first
	}
	canceled, err := client.CancelTask(ctx, id, waiting.GetTask().GetId())
	if err != nil || canceled.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("cancel = %v, %v", canceled, err)
	}
	if _, err := client.SetPushConfig(ctx, id, task.GetId(), "https://hooks.example/x", ""); !errors.Is(err, a2a.ErrPushNotificationNotSupported) {
		t.Fatalf("push config on an agent without push = %v", err)
	}

	// The agent's own URL and its card document resolve too; the card is served by the agent.
	byURL, err := client.Send(ctx, base, "by url")
	if err != nil || agentvault.AnswerText(byURL) != "echo: by url" {
		t.Fatalf("by URL = %v, %v", byURL, err)
	}
	resp, err := http.Get(base + a2a.WellKnownCardPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Echo Agent") || resp.Header.Get("ETag") == "" {
		t.Fatalf("card: %d %s", resp.StatusCode, body)
	}
	// The HTTP+JSON binding is served under its interface's path.
	rest, err := a2a.NewClient(base+"/a2a/v1", a2a.BindingHTTPJSON)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := rest.SendMessage(ctx, &a2apb.SendMessageRequest{Message: agentvault.UserMessage("rest")})
	if err != nil || agentvault.AnswerText(rr) != "echo: rest" {
		t.Fatalf("HTTP+JSON = %v, %v", rr, err)
	}

	// Heartbeats reach the registry.
	deadline := time.Now().Add(5 * time.Second)
	for agent.Heartbeats() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if agent.Heartbeats() < 2 {
		t.Fatalf("%d heartbeats, last error %v", agent.Heartbeats(), agent.LastHeartbeatError())
	}
	me, err := agentvault.NewRegistry(st.URL, r.Tokens).Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != id || me.LastHeartbeatAt == nil || time.Since(*me.LastHeartbeatAt) > 5*time.Second || me.Status != "active" {
		t.Fatalf("agents/me %+v", me)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop")
	}
	if _, err := http.Get(base + a2a.WellKnownCardPath); err == nil {
		t.Fatal("the agent still serves after Run returned")
	}
}

func TestAgent_ServesPathsAndAuthenticates(t *testing.T) {
	ln, base := listen(t)
	card, err := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }})).Target(context.Background(), writeCard(t, testCard("Root", base, map[string]any{
		"supportedInterfaces": []map[string]any{{"url": base, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
			{"url": base + agentvault.DefaultRESTPath, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}}})))
	if err != nil {
		t.Fatal(err)
	}
	var callers []string
	agent := &agentvault.Agent{Executor: echo{}, Card: card.Card, Listener: ln, Authenticate: func(r *http.Request) (string, error) {
		if r.Header.Get("X-Api-Key") != "k" {
			return "", errors.New("no key")
		}
		callers = append(callers, "caller-k")
		return "caller-k", nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()

	withKey := a2a.WithAuth(func(_ context.Context, h http.Header) error { h.Set("X-Api-Key", "k"); return nil })
	rpc, _ := a2a.NewClient(base, a2a.BindingJSONRPC, withKey)
	var res *a2apb.SendMessageResponse
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if res, err = rpc.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: agentvault.UserMessage("root")}); err == nil {
			break
		}
	}
	if err != nil || agentvault.AnswerText(res) != "echo: root" {
		t.Fatalf("JSON-RPC at / = %v, %v", res, err)
	}
	rest, _ := a2a.NewClient(base+agentvault.DefaultRESTPath, a2a.BindingHTTPJSON, withKey)
	if res, err := rest.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: agentvault.UserMessage("r")}); err != nil || agentvault.AnswerText(res) != "echo: r" {
		t.Fatalf("HTTP+JSON at the default path = %v, %v", res, err)
	}
	// A refusal of the hook is the binding's own 401 error.
	anon, _ := a2a.NewClient(base, a2a.BindingJSONRPC)
	if _, err := anon.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: agentvault.UserMessage("x")}); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Fatalf("an unauthenticated JSON-RPC request: %v", err)
	}
	anonREST, _ := a2a.NewClient(base+agentvault.DefaultRESTPath, a2a.BindingHTTPJSON)
	if _, err := anonREST.GetTask(context.Background(), &a2apb.GetTaskRequest{Id: "x"}); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Fatalf("an unauthenticated HTTP+JSON request: %v", err)
	}
	// The card is public.
	if resp, err := http.Get(base + a2a.WellKnownCardPath); err != nil || resp.StatusCode != 200 {
		t.Fatalf("card = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(callers) != 2 {
		t.Fatalf("callers %v", callers)
	}
}

func TestAgent_RunRefusesIncompleteConfig(t *testing.T) {
	ctx := context.Background()
	if err := (&agentvault.Agent{}).Run(ctx); err == nil {
		t.Fatal("ran without an executor")
	}
	if err := (&agentvault.Agent{Executor: echo{}}).Run(ctx); err == nil {
		t.Fatal("ran without a card")
	}
	card := &a2apb.AgentCard{Name: "x"}
	if err := (&agentvault.Agent{Executor: echo{}, Card: card}).Run(ctx); err == nil || !strings.Contains(err.Error(), "interface") {
		t.Fatalf("a card without interfaces = %v", err)
	}
	card.SupportedInterfaces = []*a2apb.AgentInterface{{Url: "http://127.0.0.1:1/a2a", ProtocolBinding: a2a.BindingJSONRPC, ProtocolVersion: "1.0"}}
	if err := (&agentvault.Agent{Executor: echo{}, Card: card, RegistryURL: "http://registry.invalid"}).Run(ctx); err == nil ||
		!strings.Contains(err.Error(), "no credential") {
		t.Fatalf("heartbeats without a credential = %v", err)
	}
}

func writeCard(t *testing.T, card []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(p, card, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgent_DefaultAuthVerifiesJWTSVIDsFromTheRegistry runs an agent whose card asks for a
// bearer token and sets no Authenticate: the default auth middleware verifies another agent's
// JWT-SVID (minted by the registry's token endpoint) against the registry's bundle and refuses
// anonymous calls.
func TestAgent_DefaultAuthVerifiesJWTSVIDsFromTheRegistry(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, base := listen(t)
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	secured := testCard("Secured Agent", base, map[string]any{
		"securitySchemes":      map[string]any{"svid": map[string]any{"httpAuthSecurityScheme": map[string]any{"scheme": "Bearer", "bearerFormat": "JWT"}}},
		"securityRequirements": []map[string]any{{"schemes": map[string]any{"svid": map[string]any{}}}},
	})
	payee := st.register(t, secured, keys)
	payer := st.register(t, testCard("Caller Agent", "http://caller.invalid", nil), keys)
	ident, err := agentvault.LoadIdentity(ctx, keys, payee.Reg.Identity.ID)
	if err != nil {
		t.Fatal(err)
	}
	agent := &agentvault.Agent{Executor: echo{}, Card: payee.Reg.Card.Card, Identity: ident, RegistryURL: st.URL,
		HeartbeatInterval: -1, Listener: ln}
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()

	anon := agentvault.NewClient(agentvault.WithKeyStore(agentvault.NewFileStore(filepath.Join(t.TempDir(), "none.json"))))
	if _, err := anon.Send(ctx, base, "hello"); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Fatalf("anonymous call: %v", err)
	}
	// By URL the agent is of unknown identity: the caller's token is not sent to it.
	client := agentvault.NewClient(agentvault.WithKeyStore(keys), agentvault.WithBearer(payer.Tokens), agentvault.WithRegistry(st.URL))
	if _, err := client.Send(ctx, base, "hello"); err == nil || !strings.Contains(err.Error(), "unknown audience") {
		t.Fatalf("bearer sent to an agent known only by URL: %v", err)
	}
	// By its registry id, the caller's token is minted for this agent alone.
	id := payee.Reg.Identity.ID
	res, err := client.Send(ctx, id, "hello")
	if err != nil || agentvault.AnswerText(res) != "echo: hello" {
		t.Fatalf("authenticated call: %v, %v", res, err)
	}
	// The task belongs to the caller: the anonymous client cannot read it, the caller can.
	if _, err := client.GetTask(ctx, id, res.GetTask().GetId()); err != nil {
		t.Fatalf("the caller's own task: %v", err)
	}
	// A token for the TEG (what the caller spends with) is refused: no agent can replay one.
	tegToken, err := payer.Tokens.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := a2a.NewClient(base+"/a2a", a2a.BindingJSONRPC, a2a.WithAuth(func(_ context.Context, h http.Header) error {
		h.Set("Authorization", "Bearer "+tegToken)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.SendMessage(ctx, &a2apb.SendMessageRequest{Message: agentvault.UserMessage("replay")}); !errors.Is(err, a2a.ErrUnauthenticated) {
		t.Fatalf("a TEG-audience token was accepted by an agent: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Without a registry or SPIFFE ID the secured card cannot be served unauthenticated.
	if _, _, err := (&agentvault.Agent{Executor: echo{}, Card: payee.Reg.Card.Card}).Handler(); err == nil || !strings.Contains(err.Error(), "security schemes") {
		t.Fatalf("secured card without verifiers: %v", err)
	}
}

func TestAgent_RegistersItselfWithADeveloperCredential(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, base := listen(t)
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	parsed, err := agentcard.Parse(ctx, testCard("Self Registering Agent", base, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	agent := &agentvault.Agent{Executor: echo{}, Card: parsed.Card, RegistryURL: st.URL, Keys: keys,
		DeveloperCredential: agentvault.BearerToken(st.AdminKey), HeartbeatInterval: 50 * time.Millisecond, Listener: ln}
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for agent.Heartbeats() == 0 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no heartbeat (last error %v, run %v)", agent.LastHeartbeatError(), <-done)
		}
		time.Sleep(10 * time.Millisecond)
	}
	id := agent.Identity.ID
	if ident, err := agentvault.LoadIdentity(ctx, keys, id); err != nil || ident.DID != agent.Identity.DID {
		t.Fatalf("saved identity %+v, %v", ident, err)
	}
	client := agentvault.NewClient(agentvault.WithRegistry(st.URL), agentvault.WithKeyStore(keys))
	res, err := client.Send(ctx, id, "hi")
	if err != nil || agentvault.AnswerText(res) != "echo: hi" {
		t.Fatalf("answer %v, %v", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAgent_ServesTheCardsGRPCInterface: an agent whose card lists a GRPC interface first serves
// the gRPC binding on its host:port, and the agentvault client calls it there.
func TestAgent_ServesTheCardsGRPCInterface(t *testing.T) {
	ln, base := listen(t)
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcURL := "grpc://" + gln.Addr().String()
	_ = gln.Close() // the agent listens there itself, from its card
	cardFile := writeCard(t, testCard("Fast", base, map[string]any{"supportedInterfaces": []map[string]any{
		{"url": grpcURL, "protocolBinding": "GRPC", "protocolVersion": "1.0"},
		{"url": base, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}}}))
	client := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }}))
	target, err := client.Target(context.Background(), cardFile)
	if err != nil {
		t.Fatal(err)
	}
	if target.A2A.Binding() != a2a.BindingGRPC || target.A2A.Endpoint() != grpcURL {
		t.Fatalf("client over %s at %s", target.A2A.Binding(), target.A2A.Endpoint())
	}
	agent := &agentvault.Agent{Executor: echo{}, Card: target.Card, Listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	var res *a2apb.SendMessageResponse
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if res, err = client.Send(context.Background(), cardFile, "over grpc"); err == nil {
			break
		}
	}
	if err != nil || agentvault.AnswerText(res) != "echo: over grpc" {
		t.Fatalf("gRPC = %v, %v", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
