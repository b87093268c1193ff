package registrysql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func TestFirstAgentsOfVerifiedDevelopers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		dev := func(id string, verified bool) {
			var v any
			if verified {
				v = store.Time(t0)
			}
			if _, err := db.Write().ExecContext(ctx, `INSERT INTO developers (id, email, name, password_hash, email_verified_at, created_at, updated_at)
				VALUES ($1, $2, 'D', 'x', $3, $4, $4)`, id, id+"@example.com", v, store.Time(t0)); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		agent := func(id, devID, status string, minute int) {
			n++
			if _, err := db.Write().ExecContext(ctx, `INSERT INTO agents (id, developer_id, did, spiffe_id, public_key, client_id, secret_hash, status, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, 'h', $7, $8, $8)`, id, devID, fmt.Sprint("did:x:", n), fmt.Sprint("spiffe://x/", n), []byte{1}, fmt.Sprint("c", n), status,
				store.Time(t0.Add(time.Duration(minute)*time.Minute))); err != nil {
				t.Fatal(err)
			}
		}
		dev("dev_v", true)
		agent("agt_v2", "dev_v", "active", 2)
		agent("agt_v1", "dev_v", "active", 1)  // the first
		agent("agt_v0", "dev_v", "pending", 0) // pending: not counted
		dev("dev_u", false)
		agent("agt_u1", "dev_u", "active", 1) // unverified developer
		dev("dev_r", true)
		agent("agt_r1", "dev_r", "revoked", 1) // first, revoked: no pre-trust for dev_r
		agent("agt_r2", "dev_r", "active", 2)
		dev("dev_t", true)
		agent("agt_tb", "dev_t", "active", 1) // same instant: the smaller id is first
		agent("agt_ta", "dev_t", "active", 1)
		got, err := registrysql.FirstAgentsOfVerifiedDevelopers(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[agt_ta agt_v1]" {
			t.Fatalf("pre-trusted = %v", got)
		}
	})
}
