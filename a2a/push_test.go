package a2a_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict/ed25519stricttest"
)

// receiver is a webhook that records what it is sent; fail makes it answer 500 that many times.
type receiver struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	fail   int
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, r)
	rc.bodies = append(rc.bodies, body)
	switch {
	case rc.fail > 0:
		rc.fail--
		w.WriteHeader(http.StatusInternalServerError)
	case rc.status != 0:
		w.WriteHeader(rc.status)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

// request returns the i-th request with its body restored.
func (rc *receiver) request(i int) *http.Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r := rc.reqs[i].Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(rc.bodies[i]))
	return r
}

func newSender(t *testing.T, allowPrivate bool) (*a2a.WebhookSender, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a2a.NewWebhookSender(a2a.WebhookConfig{Key: priv, KeyID: "k1", AllowPrivate: allowPrivate, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

func statusEv(state a2apb.TaskState) *a2apb.StreamResponse {
	return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
		TaskId: "t1", ContextId: "c1", Status: &a2apb.TaskStatus{State: state}}}}
}

func TestWebhook_DeliversSignedRequests(t *testing.T) {
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s, pub := newSender(t, true)
	cfg := &a2apb.TaskPushNotificationConfig{TaskId: "t1", Id: "p1", Url: hs.URL + "/hook", Token: "tok",
		Authentication: &a2apb.AuthenticationInfo{Scheme: "Bearer", Credentials: "sekret"}}
	ev := statusEv(a2apb.TaskState_TASK_STATE_COMPLETED)
	if err := s.Send(context.Background(), cfg, ev); err != nil {
		t.Fatal(err)
	}
	r := rc.request(0)
	if r.Header.Get(a2a.HeaderNotificationToken) != "tok" || r.Header.Get("Authorization") != "Bearer sekret" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", r.Header)
	}
	got, err := a2a.VerifyPush(r, pub)
	if err != nil || !proto.Equal(got, ev) {
		t.Fatalf("VerifyPush = %v, %v", got, err)
	}
	if b, _ := io.ReadAll(r.Body); len(b) == 0 {
		t.Fatal("VerifyPush did not put the body back")
	}
	if at, err := a2a.PushSignedAt(rc.request(0)); err != nil || time.Since(at) > time.Minute {
		t.Fatalf("PushSignedAt = %v, %v", at, err)
	}
}

func TestWebhook_TamperedOrForeignRequestsFail(t *testing.T) {
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s, pub := newSender(t, true)
	if err := s.Send(context.Background(), &a2apb.TaskPushNotificationConfig{Url: hs.URL}, statusEv(a2apb.TaskState_TASK_STATE_WORKING)); err != nil {
		t.Fatal(err)
	}
	tampered := rc.request(0)
	body, _ := io.ReadAll(tampered.Body)
	tampered.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("WORKING"), []byte("COMPLETED"), 1)))
	if _, err := a2a.VerifyPush(tampered, pub); err == nil {
		t.Fatal("tampered body verified")
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	if _, err := a2a.VerifyPush(rc.request(0), otherPub); err == nil {
		t.Fatal("verified with another key")
	}
	unsigned := rc.request(0)
	unsigned.Header.Del(a2a.HeaderPushSignature)
	if _, err := a2a.VerifyPush(unsigned, pub); err == nil {
		t.Fatal("unsigned request verified")
	}
	attached := rc.request(0)
	h, _, _ := strings.Cut(attached.Header.Get(a2a.HeaderPushSignature), ".")
	attached.Header.Set(a2a.HeaderPushSignature, h+".e30.c2ln")
	if _, err := a2a.VerifyPush(attached, pub); err == nil {
		t.Fatal("non-detached JWS verified")
	}
}

func TestWebhook_RetriesWithBackoff(t *testing.T) {
	rc := &receiver{fail: 2}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	s, _ := newSender(t, true)
	if err := s.Send(context.Background(), &a2apb.TaskPushNotificationConfig{Url: hs.URL}, statusEv(a2apb.TaskState_TASK_STATE_WORKING)); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 3 {
		t.Fatalf("attempts = %d, want 3 (two 500s, then success)", rc.count())
	}
	down := &receiver{fail: 100}
	hd := httptest.NewServer(down)
	defer hd.Close()
	if err := s.Send(context.Background(), &a2apb.TaskPushNotificationConfig{Url: hd.URL}, statusEv(a2apb.TaskState_TASK_STATE_WORKING)); err == nil || down.count() != a2a.DefaultPushAttempts {
		t.Fatalf("always 500: err %v after %d attempts, want an error after %d", err, down.count(), a2a.DefaultPushAttempts)
	}
	gone := &receiver{status: http.StatusGone}
	hg := httptest.NewServer(gone)
	defer hg.Close()
	if err := s.Send(context.Background(), &a2apb.TaskPushNotificationConfig{Url: hg.URL}, statusEv(a2apb.TaskState_TASK_STATE_WORKING)); err == nil || gone.count() != 1 {
		t.Fatalf("410: err %v after %d attempts, want an error after 1", err, gone.count())
	}
}

func TestWebhook_URLPolicy(t *testing.T) {
	strict, _ := newSender(t, false)
	lax, _ := newSender(t, true)
	ctx := context.Background()
	refused := []string{
		"http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://192.168.0.1/", "http://[::1]/", "http://169.254.169.254/latest",
		"http://[fe80::1]/", "http://100.64.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://localhost/hook", "http://api.localhost/",
	}
	for _, u := range refused {
		wantCode(t, u, strict.Check(ctx, &a2apb.TaskPushNotificationConfig{Url: u}), a2a.CodeInvalidParams)
		if err := lax.Check(ctx, &a2apb.TaskPushNotificationConfig{Url: u}); err != nil {
			t.Errorf("AllowPrivate refused %s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://example.com/", "/relative", "https://user:pw@example.com/", "https://"} {
		wantCode(t, u, lax.Check(ctx, &a2apb.TaskPushNotificationConfig{Url: u}), a2a.CodeInvalidParams)
	}
	if err := strict.Check(ctx, &a2apb.TaskPushNotificationConfig{Url: "https://93.184.215.14/hook"}); err != nil {
		t.Fatalf("public address refused: %v", err)
	}
	wantCode(t, "header injection", lax.Check(ctx, &a2apb.TaskPushNotificationConfig{Url: "https://example.com/", Token: "a\r\nX: y"}), a2a.CodeInvalidParams)

	// The dialer enforces the policy too (a name may resolve differently later).
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	if err := strict.Send(ctx, &a2apb.TaskPushNotificationConfig{Url: hs.URL}, statusEv(a2apb.TaskState_TASK_STATE_WORKING)); err == nil || rc.count() != 0 {
		t.Fatalf("strict sender reached a loopback webhook: %v, %d requests", err, rc.count())
	}
}

func pushServer(t *testing.T, allowPrivate bool) (fixture, ed25519.PublicKey) {
	t.Helper()
	sender, pub := newSender(t, allowPrivate)
	f := newServer(t, func(c *a2a.ServerConfig) {
		c.Push = sender
		c.Card.Capabilities.PushNotifications = proto.Bool(true)
		c.Limits.MaxPushConfigs = 3
		c.Logger = slog.New(slog.DiscardHandler)
	})
	return f, pub
}

func TestServer_PushNotificationsEndToEnd(t *testing.T) {
	f, pub := pushServer(t, true)
	rc := &receiver{fail: 1} // the first delivery is retried
	hs := httptest.NewServer(rc)
	defer hs.Close()
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("echo push"), &a2apb.SendMessageConfiguration{
		TaskPushNotificationConfig: &a2apb.TaskPushNotificationConfig{Url: hs.URL, Token: "tok-1"}})
	// Created, working, artifact, completed: four events, plus the retried first one.
	waitFor(t, func() bool { return rc.count() >= 5 })
	var states []string
	for i := 1; i < rc.count(); i++ {
		r := rc.request(i)
		if r.Header.Get(a2a.HeaderNotificationToken) != "tok-1" {
			t.Fatalf("token = %q", r.Header.Get(a2a.HeaderNotificationToken))
		}
		ev, err := a2a.VerifyPush(r, pub)
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, kinds([]*a2apb.StreamResponse{ev}))
	}
	if strings.Join(states, " ") != "task:SUBMITTED status:WORKING artifact:echo! status:COMPLETED" {
		t.Fatalf("pushed %v", states)
	}
	list, err := f.srv.ListTaskPushNotificationConfigs(ctx, &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
	if err != nil || len(list.GetConfigs()) != 1 || list.GetConfigs()[0].GetTaskId() != task.GetId() {
		t.Fatalf("configs = %v, %v", list, err)
	}
}

func TestServer_PushConfigCRUD(t *testing.T) {
	f, _ := pushServer(t, false)
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	_, err := f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: "task_nope", Url: "https://93.184.215.14/h"})
	wantCode(t, "unknown task", err, a2a.CodeTaskNotFound)
	_, err = f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "http://127.0.0.1:9/h"})
	wantCode(t, "private url", err, a2a.CodeInvalidParams)
	_, err = f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: task.GetId()})
	wantCode(t, "no url", err, a2a.CodeInvalidParams)
	_, err = f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("echo"), Configuration: &a2apb.SendMessageConfiguration{
		TaskPushNotificationConfig: &a2apb.TaskPushNotificationConfig{Url: "http://10.0.0.1/h"}}})
	wantCode(t, "send with a private push url", err, a2a.CodeInvalidParams)

	var ids []string
	for _, id := range []string{"", "b", "c"} {
		c, err := f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: task.GetId(), Id: id, Url: "https://93.184.215.14/h"})
		if err != nil || c.GetId() == "" || c.GetTaskId() != task.GetId() {
			t.Fatalf("create %q = %v, %v", id, c, err)
		}
		ids = append(ids, c.GetId())
	}
	_, err = f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: task.GetId(), Id: "d", Url: "https://93.184.215.14/h"})
	wantCode(t, "over the limit", err, a2a.CodeInvalidParams)
	if _, err := f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: task.GetId(), Id: "b", Url: "https://93.184.215.14/v2"}); err != nil {
		t.Fatalf("replacing at the limit: %v", err)
	}
	got, err := f.srv.GetTaskPushNotificationConfig(ctx, &a2apb.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "b"})
	if err != nil || got.GetUrl() != "https://93.184.215.14/v2" {
		t.Fatalf("get = %v, %v", got, err)
	}
	p1, err := f.srv.ListTaskPushNotificationConfigs(ctx, &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId(), PageSize: 2})
	if err != nil || len(p1.GetConfigs()) != 2 || p1.GetNextPageToken() == "" {
		t.Fatalf("page 1 = %v, %v", p1, err)
	}
	p2, err := f.srv.ListTaskPushNotificationConfigs(ctx, &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId(), PageSize: 2, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetConfigs()) != 1 || p2.GetNextPageToken() != "" {
		t.Fatalf("page 2 = %v, %v", p2, err)
	}
	if err := f.srv.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "c"}); err != nil {
		t.Fatal(err)
	}
	// Deleting is idempotent: the second delete of the same config succeeds.
	if err := f.srv.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "c"}); err != nil {
		t.Fatalf("delete twice = %v", err)
	}
	err = f.srv.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: "nope", Id: "c"})
	wantCode(t, "delete on an unknown task", err, a2a.CodeTaskNotFound)
	// Without an id (v0.3's optional configId), get returns the task's first config.
	first, err := f.srv.GetTaskPushNotificationConfig(ctx, &a2apb.GetTaskPushNotificationConfigRequest{TaskId: task.GetId()})
	if err != nil || first.GetId() != p1.GetConfigs()[0].GetId() {
		t.Fatalf("get without id = %v, %v", first, err)
	}
	_, err = f.srv.GetTaskPushNotificationConfig(ctx, &a2apb.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "c"})
	wantCode(t, "get deleted", err, a2a.CodeTaskNotFound)
	_, err = f.srv.ListTaskPushNotificationConfigs(a2a.WithCaller(ctx, "mallory"), &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
	wantCode(t, "another caller's task", err, a2a.CodeTaskNotFound)
}

// TestVerifyPush_RefusesSmallOrderKeys: a receiver configured with a small-order key (the
// identity) would take a push anyone forged; VerifyPush refuses the key.
func TestVerifyPush_RefusesSmallOrderKeys(t *testing.T) {
	id := ed25519stricttest.SmallOrder()[0]
	b64 := base64.RawURLEncoding
	body := []byte(`{"statusUpdate":{"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED"}}}`)
	hb := b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"k1"}`))
	sig := ed25519stricttest.Forge(id, []byte(hb+"."+b64.EncodeToString(body)))
	if !ed25519.Verify(id, []byte(hb+"."+b64.EncodeToString(body)), sig) {
		t.Fatal("the forged signature does not verify with crypto/ed25519: the test proves nothing")
	}
	r := httptest.NewRequest("POST", "/hook", bytes.NewReader(body))
	r.Header.Set(a2a.HeaderPushSignature, hb+".."+b64.EncodeToString(sig))
	if _, err := a2a.VerifyPush(r, id); err == nil || !strings.Contains(err.Error(), "small order") {
		t.Fatalf("VerifyPush with the identity key = %v", err)
	}
}
