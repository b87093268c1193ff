package tegclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg/tegclient"
)

func TestNew_RefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "teg:8443", "ftp://teg", "https://"} {
		if _, err := tegclient.New(u, http.DefaultClient); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := tegclient.NewMTLS("http://teg:8443", nil, spiffeid.ID{}); err == nil {
		t.Error("NewMTLS accepted plain http")
	}
}

func TestClient_MapsAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		kind   apperr.Kind
		code   string
	}{
		{"envelope 409", 409, `{"error":{"code":"ACCOUNT_EXISTS","message":"exists","details":{"account":"a"},"request_id":"req_1"}}`, apperr.Conflict, "ACCOUNT_EXISTS"},
		{"envelope 403", 403, `{"error":{"code":"FORBIDDEN","message":"no","details":{"decision_id":"d"}}}`, apperr.Forbidden, "FORBIDDEN"},
		{"envelope 422", 422, `{"error":{"code":"INVALID_ACCOUNT","message":"bad"}}`, apperr.Invalid, "INVALID_ACCOUNT"},
		{"TEG internal error", 500, `{"error":{"code":"INTERNAL","message":"internal error","request_id":"req_2"}}`, apperr.Unavailable, tegclient.CodeTEGUnavailable},
		{"not an envelope", 502, `<html>bad gateway</html>`, apperr.Unavailable, tegclient.CodeTEGUnavailable},
		{"2xx that is not JSON", 200, `nope`, apperr.Unavailable, tegclient.CodeTEGUnavailable},
		{"bad amount", 200, `{"account":"a","liquid":"-1","locked":"0","staked":"0","unbonding":"0"}`, apperr.Unavailable, tegclient.CodeTEGUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			cl, err := tegclient.New(srv.URL, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Balance(context.Background(), "a")
			if apperr.KindOf(err) != c.kind || apperr.CodeOf(err) != c.code {
				t.Fatalf("got %v (kind %v), want kind %v code %s", err, apperr.KindOf(err), c.kind, c.code)
			}
		})
	}
	cl, _ := tegclient.New("http://127.0.0.1:1", http.DefaultClient)
	if err := cl.Ping(context.Background()); apperr.CodeOf(err) != tegclient.CodeTEGUnavailable {
		t.Fatalf("unreachable TEG: %v", err)
	}
}

func TestClient_SendsTheRoutesAndIdempotencyKey(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Idempotency-Key"))
		switch r.URL.Path {
		case "/api/v1/token/grant":
			_, _ = w.Write([]byte(`{"id":"tx_1","kind":"grant","to":"a","amount":"1.5","fee":"0","seq":3,"replayed":true}`))
		default:
			_, _ = w.Write([]byte(`{"account":"a","liquid":"1.5","locked":"0","staked":"0","unbonding":"0","total":"1.5"}`))
		}
	}))
	defer srv.Close()
	cl, _ := tegclient.New(srv.URL+"/", srv.Client())
	ctx := context.Background()
	if a, err := cl.OpenWallet(ctx, "a", "k1"); err != nil || a.ID != "a" || a.Liquid.String() != "1.5" {
		t.Fatalf("open: %+v %v", a, err)
	}
	tr, replayed, err := cl.Grant(ctx, "a", mustParse(t, "1.5"), "", "k2")
	if err != nil || !replayed || tr.Amount.String() != "1.5" || tr.Seq != 3 {
		t.Fatalf("grant: %+v %v %v", tr, replayed, err)
	}
	if _, err := cl.Balance(ctx, "a b"); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /api/v1/admin/teg/accounts k1", "POST /api/v1/token/grant k2", "GET /api/v1/token/balance?account=a+b "}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("requests %q, want %q", got, want)
		}
	}
}

func mustParse(t *testing.T, s string) avt.Amount {
	t.Helper()
	a, err := avt.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// WithBearer sends the credential; the staking methods call their routes and decode the answers.
func TestClient_StakingWithBearer(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Idempotency-Key"))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/staking/validators":
			_, _ = w.Write([]byte(`{"items":[{"id":"agt_v","stake":"1000","self_stake":"1000","commission_bps":1000}]}`))
		default:
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"id":"tx_1","kind":"stake","from":"agt_a","to":"agt_v","amount":"10","fee":"0","seq":7}`))
		}
	}))
	defer srv.Close()
	base, err := tegclient.New(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c := base.WithBearer("tok")
	tr, replayed, err := c.Delegate(context.Background(), tegclient.StakeRequest{Validator: "agt_v", Amount: avt.AVT(10)}, "k1")
	if err != nil || replayed || tr.Amount != avt.AVT(10) || tr.Seq != 7 || tr.To != "agt_v" {
		t.Fatalf("delegate = %+v %v %v", tr, replayed, err)
	}
	vs, err := base.Validators(context.Background())
	if err != nil || len(vs) != 1 || vs[0].ID != "agt_v" {
		t.Fatalf("validators = %+v %v", vs, err)
	}
	if _, _, err := c.Unjail(context.Background(), "agt_v", ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /api/v1/staking/delegate Bearer tok k1", "GET /api/v1/staking/validators  ", "POST /api/v1/staking/validators/agt_v:unjail Bearer tok "}
	if len(got) != len(want) {
		t.Fatalf("calls %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("call %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestClient_HistoryPagesWithTheTEGsCursor(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RequestURI())
		_, _ = w.Write([]byte(`{"items":[{"id":"tx_2","kind":"transfer","from":"a","to":"b","amount":"2","fee":"0.002","seq":9,"created_at":"2026-12-06T09:00:00Z"}],"next_cursor":""}`))
	}))
	defer srv.Close()
	cl, _ := tegclient.New(srv.URL, srv.Client())
	h, err := cl.History(context.Background(), "a", 0, 21)
	if err != nil || len(h) != 1 || h[0].ID != "tx_2" || h[0].Seq != 9 || h[0].Fee.String() != "0.002" || h[0].To != "b" {
		t.Fatalf("history: %+v %v", h, err)
	}
	if _, err := cl.History(context.Background(), "a", 9, 5); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "/api/v1/token/transactions?account=a&limit=21" ||
		!strings.HasPrefix(got[1], "/api/v1/token/transactions?account=a&cursor=") || !strings.HasSuffix(got[1], "&limit=5") {
		t.Fatalf("requests %q", got)
	}
}
