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
