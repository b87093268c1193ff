package fedhttp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedhttp"
	"github.com/sovereign-stack/sovereign/identity"
)

// peerServer runs handler behind mutual TLS as the registry serverID of its own builtin CA, and
// returns the peer entry for it and a client of registry a.test that trusts its bundle.
func peerServer(t *testing.T, serverID string, handler http.HandlerFunc) (federation.Peer, *fedhttp.Client) {
	t.Helper()
	ctx := context.Background()
	sid := spiffeid.RequireFromString(serverID)
	bCA, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "b"), sid.TrustDomain())
	if err != nil {
		t.Fatal(err)
	}
	aTD := spiffeid.RequireTrustDomainFromString("a.test")
	aCA, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "a"), aTD)
	if err != nil {
		t.Fatal(err)
	}
	bSrc, err := identity.NewIssuerSource(ctx, bCA, sid)
	if err != nil {
		t.Fatal(err)
	}
	aSrc, err := identity.NewIssuerSource(ctx, aCA, spiffeid.RequireFromPath(aTD, "/registry/main"))
	if err != nil {
		t.Fatal(err)
	}
	aBundle, _ := aCA.Bundle(ctx)
	bBundle, _ := bCA.Bundle(ctx)
	sc := tlsconfig.MTLSServerConfig(bSrc, x509bundle.NewSet(aBundle.X509Bundle()), tlsconfig.AuthorizeAny())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", sc)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); aSrc.Close(); bSrc.Close() })
	p := federation.Peer{ID: "fpr_b", TrustDomain: "b.test", BaseURL: "https://" + ln.Addr().String(), State: federation.StateActive}
	return p, &fedhttp.Client{SVID: aSrc, Bundles: x509bundle.NewSet(bBundle.X509Bundle())}
}

func class(err error) string {
	var ce *federation.CallError
	if errors.As(err, &ce) {
		return ce.Class
	}
	return ""
}

func TestClient_AnswersAndRefusals(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hops") != "1" || r.URL.Query()["origin"][0] != "a.test" || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "bad query", 400)
			return
		}
		_, _ = w.Write([]byte(`{"registry":"b.test","items":[{"origin_registry":"b.test","id":"agt_1","score":90,"doc":{"id":"agt_1"}}],"peers":[]}`))
	}
	q := federation.Query{Text: "weather", Tags: []string{"t"}, Limit: 5, Hops: 1, Origins: []string{"a.test"}, Budget: time.Second}
	p, c := peerServer(t, "spiffe://b.test/registry/main", ok)
	hits, _, err := c.Query(context.Background(), p, q)
	if err != nil || len(hits) != 1 || hits[0].ID != "agt_1" || hits[0].Origin != "b.test" {
		t.Fatalf("Query = %v, %v", hits, err)
	}

	for name, tc := range map[string]struct {
		serverID string
		handler  http.HandlerFunc
		class    string
	}{
		"garbage": {"spiffe://b.test/registry/main", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }, "bad_answer"},
		"endless body": {"spiffe://b.test/registry/main", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat(" ", fedhttp.MaxAnswerBytes+10)))
		}, "bad_answer"},
		"other registry": {"spiffe://b.test/registry/main", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"registry":"c.test","items":[]}`))
		}, "bad_answer"},
		"refusal": {"spiffe://b.test/registry/main", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":{"code":"PEER_NOT_ACTIVE"}}`, 403)
		}, "http_403"},
		"not a registry": {"spiffe://b.test/agent/agt_1", ok, "tls_refused"},
	} {
		t.Run(name, func(t *testing.T) {
			p, c := peerServer(t, tc.serverID, tc.handler)
			if _, _, err := c.Query(context.Background(), p, q); class(err) != tc.class {
				t.Fatalf("err %v, want class %s", err, tc.class)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		p, c := peerServer(t, "spiffe://b.test/registry/main", ok)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		p.BaseURL = "https://" + ln.Addr().String()
		ln.Close()
		if _, _, err := c.Query(context.Background(), p, q); class(err) != "unreachable" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a denied address is not dialled", func(t *testing.T) {
		p, c := peerServer(t, "spiffe://b.test/registry/main", ok)
		nets, _ := federation.ParseNetworks("loopback")
		c.Addresses = &federation.AddressPolicy{Denied: nets}
		if _, _, err := c.Query(context.Background(), p, q); class(err) != "address_forbidden" || !errors.Is(err, federation.ErrAddressForbidden) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("slow drip ends at the deadline", func(t *testing.T) {
		p, c := peerServer(t, "spiffe://b.test/registry/main", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 100; i++ {
				_, _ = w.Write([]byte(" "))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, _, err := c.Query(ctx, p, q); err == nil || ctx.Err() == nil {
			t.Fatalf("err %v", err)
		}
	})
}

// TestFanout_BadPeersAreRecordedAndTheQueryAnswers: through the mTLS client, peers answering
// garbage, an endless body or a slow drip are each an outcome and a last error of their own,
// and the query still answers with the good peer's hits, within the deadline.
func TestFanout_BadPeersAreRecordedAndTheQueryAnswers(t *testing.T) {
	ctx := context.Background()
	aTD := spiffeid.RequireTrustDomainFromString("a.test")
	aCA, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "a"), aTD)
	if err != nil {
		t.Fatal(err)
	}
	aSrc, err := identity.NewIssuerSource(ctx, aCA, spiffeid.RequireFromPath(aTD, "/registry/main"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aSrc.Close() })
	aBundle, _ := aCA.Bundle(ctx)
	bundles := x509bundle.NewSet()
	var peers []federation.Peer
	serve := func(td string, h http.HandlerFunc) {
		d := spiffeid.RequireTrustDomainFromString(td)
		ca, err := identity.NewBuiltin(filepath.Join(t.TempDir(), td), d)
		if err != nil {
			t.Fatal(err)
		}
		src, err := identity.NewIssuerSource(ctx, ca, spiffeid.RequireFromPath(d, "/registry/main"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ca.Bundle(ctx)
		bundles.Add(b.X509Bundle())
		ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsconfig.MTLSServerConfig(src, x509bundle.NewSet(aBundle.X509Bundle()), tlsconfig.AuthorizeAny()))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close(); src.Close() })
		peers = append(peers, federation.Peer{ID: "fpr_" + td, TrustDomain: td, BaseURL: "https://" + ln.Addr().String(), State: federation.StateActive})
	}
	serve("good.test", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"registry":"good.test","items":[{"origin_registry":"good.test","id":"agt_1","score":90,"doc":{"id":"agt_1"}}],"peers":[]}`))
	})
	serve("garbage.test", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("\x00\x01 not json at all")) })
	serve("endless.test", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(`{"registry":"endless.test","items":[` + strings.Repeat(" ", 64<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	serve("drip.test", func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			_, _ = w.Write([]byte(" "))
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	})
	f := &federation.Fanout{Self: "a.test", Peers: func() []federation.Peer { return peers },
		Caller: &fedhttp.Client{SVID: aSrc, Bundles: bundles}, Deadline: 1500 * time.Millisecond}
	start := time.Now()
	res := f.Query(ctx, federation.Query{Text: "x", Limit: 10, Hops: 1}, nil)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the query took %s with a deadline of 1.5s", took)
	}
	if len(res.Hits) != 1 || res.Hits[0].Origin != "good.test" {
		t.Fatalf("hits %+v", res.Hits)
	}
	want := map[string]string{"good.test": "answered/", "garbage.test": "error/bad_answer", "endless.test": "error/bad_answer", "drip.test": "timed_out/no answer within 1.5s"}
	for _, o := range res.Peers {
		if got := o.Status + "/" + o.Reason; got != want[o.TrustDomain] {
			t.Errorf("%s: %s, want %s", o.TrustDomain, got, want[o.TrustDomain])
		}
	}
	for td, cause := range map[string]string{"garbage.test": "garbage", "endless.test": "larger than", "drip.test": "deadline"} {
		if h := f.Health(td); h.ConsecutiveErrors != 1 || !strings.Contains(h.LastError, cause) {
			t.Errorf("%s health %+v, want its last error to say %q", td, h, cause)
		}
	}
}

func TestClient_ChangesAndHint(t *testing.T) {
	next := federation.EncodeCursor(3)
	ok := func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == fedhttp.HintPath:
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"pulling":true}`))
		case r.URL.Path == fedhttp.ChangesPath && r.URL.Query().Get("since") == "ZjE6MQ" && r.URL.Query().Get("limit") == "7":
			_, _ = w.Write([]byte(`{"registry":"b.test","changes":[{"seq":3,"id":"agt_1","version":2,"deleted":true,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}],"next_cursor":"` + next + `","has_more":false}`))
		case r.URL.Path == fedhttp.ChangesPath && r.URL.Query().Get("since") == "ahead":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"code":"CURSOR_AHEAD","message":"since is ahead"}}`))
		default:
			http.Error(w, "bad request", 400)
		}
	}
	p, c := peerServer(t, "spiffe://b.test/registry/main", ok)
	page, err := c.Changes(context.Background(), p, federation.EncodeCursor(1), 7)
	if err != nil || page.Registry != "b.test" || len(page.Changes) != 1 || !page.Changes[0].Deleted || page.Changes[0].Seq != 3 || page.NextCursor != next {
		t.Fatalf("Changes = %+v, %v", page, err)
	}
	if err := c.Hint(context.Background(), p); err != nil {
		t.Fatalf("Hint: %v", err)
	}
	_, err = c.Changes(context.Background(), p, "ahead", 0)
	if class(err) != "http_400" || apperr.CodeOf(err) != federation.CodeCursorAhead {
		t.Fatalf("refused cursor: %v (code %q)", err, apperr.CodeOf(err))
	}

	for name, h := range map[string]http.HandlerFunc{
		"garbage": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"registry":`)) },
		"endless body": func(w http.ResponseWriter, _ *http.Request) {
			chunk := []byte(strings.Repeat(" ", 1<<20))
			for i := 0; i < fedhttp.MaxChangesBytes>>20+2; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, c := peerServer(t, "spiffe://b.test/registry/main", h)
			if _, err := c.Changes(context.Background(), p, "", 0); class(err) != "bad_answer" {
				t.Fatalf("err %v", err)
			}
		})
	}
	t.Run("slow drip ends at the deadline", func(t *testing.T) {
		p, c := peerServer(t, "spiffe://b.test/registry/main", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"registry":"b.test","changes":[`))
			for {
				_, _ = w.Write([]byte(" "))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := c.Changes(ctx, p, "", 0); err == nil || time.Since(start) > 2*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})
}
