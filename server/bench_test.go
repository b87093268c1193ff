package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// BenchmarkRequestPath measures one authenticated read through the whole request path: request
// id, access log (JSON, discarded), metrics, authentication (one store read joining the
// credential and its developer), rate limit (in memory), policy decision, the profile read from
// the store, and JSON encoding with an ETag. Run with -cpu to vary parallelism.
func BenchmarkRequestPath(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			h, apiKey, access := benchStack(b, db)
			for _, auth := range []struct{ name, header, value string }{
				{"api_key", "X-Api-Key", apiKey},
				{"jwt", "Authorization", "Bearer " + access},
			} {
				b.Run(auth.name, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req := httptest.NewRequest("GET", "/api/v1/developers/me", nil)
							req.Header.Set(auth.header, auth.value)
							rec := httptest.NewRecorder()
							h.ServeHTTP(rec, req)
							if rec.Code != 200 {
								b.Fatalf("status %d: %s", rec.Code, rec.Body)
							}
						}
					})
				})
			}
		})
	}
}

var (
	benchServer   *server.Server
	benchAdminKey string
)

func benchAgentToken(b *testing.B, agent string) string {
	iss := benchServer.Issuer()
	id, _ := identity.AgentID(iss.TrustDomain(), agent)
	aud, _ := identity.TEGID(iss.TrustDomain())
	tok, err := iss.MintJWTSVID(context.Background(), id, []string{aud.String()}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return "Bearer " + tok
}

func benchStack(b *testing.B, db *store.DB) (http.Handler, string, string) {
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0" // the tests fund the treasury themselves
	cfg.Data = b.TempDir()
	cfg.PublicURL = "http://registry.test"
	cfg.RateLimits.DefaultPerMinute, cfg.RateLimits.DefaultBurst = 1<<30, 1<<30
	if err := cfg.Finish(); err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DB: db, Mailer: newMailbox(),
		PasswordParams: fastPasswords, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	benchServer, benchAdminKey = srv, srv.AdminKey
	h := srv.Handler()
	post := func(path, body, authz string) map[string]any {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code >= 300 {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return out
	}
	post("/api/v1/auth/register", `{"email":"bench@example.com","name":"Bench","password":"`+goodPassword+`"}`, "")
	login := post("/api/v1/auth/login", `{"email":"bench@example.com","password":"`+goodPassword+`"}`, "")
	access := login["access_token"].(string)
	key := post("/api/v1/developers/me/api-keys", `{"name":"bench"}`, "Bearer "+access)["key"].(string)
	return h, key, access
}

// BenchmarkAgentTransfer measures one agent transfer through the whole request path: JWT-SVID
// verification, the policy's tier check, the ledger's group commit (SQLite, durable).
func BenchmarkAgentTransfer(b *testing.B) {
	db := storetest.SQLite(b)
	h, _, _ := benchStack(b, db)
	adminKey := benchAdminKey
	post := func(path, auth, body string) int {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	admin := "Bearer " + adminKey
	post("/api/v1/token/mint", admin, `{"amount":"100000000"}`)
	for _, a := range []string{"agt_a", "agt_b"} {
		post("/api/v1/admin/teg/accounts", admin, `{"agent_id":"`+a+`"}`)
		post("/api/v1/token/grant", admin, `{"to":"`+a+`","amount":"1000000"}`)
	}
	tok := benchAgentToken(b, "agt_a")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c := post("/api/v1/token/transfer", tok, `{"to":"agt_b","amount":"1.5"}`); c != 201 {
				b.Fatalf("transfer: %d", c)
			}
		}
	})
}
