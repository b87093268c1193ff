package server_test

import (
	"encoding/base64"
	"fmt"
	"github.com/sovereign-stack/sovereign/config"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRegisterVerifyLoginMe_HappyPath(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		r := s.do("POST", "/api/v1/auth/register", map[string]string{"email": "Ada@Example.com", "name": "  Ada  ", "password": goodPassword}).want(t, 201, "")
		dev := r.Body["developer"].(map[string]any)
		if dev["email"] != "ada@example.com" || dev["name"] != "Ada" || dev["email_verified"] != false || dev["role"] != "developer" {
			t.Fatalf("developer = %v", dev)
		}
		if !strings.HasPrefix(dev["id"].(string), "dev_") {
			t.Fatalf("id %v", dev["id"])
		}
		keys := r.Body["recovery_keys"].([]any)
		if len(keys) != 3 || !strings.HasPrefix(keys[0].(string), "avrk_") {
			t.Fatalf("recovery keys %v", keys)
		}
		if strings.Contains(string(r.Raw), "password") {
			t.Fatalf("response mentions the password: %s", r.Raw)
		}

		// Unverified developers can log in.
		l := s.do("POST", "/api/v1/auth/login", map[string]string{"email": "ada@example.com", "password": goodPassword}).want(t, 200, "")
		if l.str("token_type") != "Bearer" || l.Body["expires_in"].(float64) != 900 || !strings.HasPrefix(l.str("refresh_token"), "avrt_") {
			t.Fatalf("login = %s", l.Raw)
		}
		me := s.do("GET", "/api/v1/developers/me", nil, bearer(l.str("access_token"))).want(t, 200, "")
		if me.Body["email_verified"] != false {
			t.Fatalf("me before verify = %s", me.Raw)
		}

		v := s.do("GET", "/api/v1/auth/verify-email?token="+s.mail.token(t, "ada@example.com"), nil).want(t, 200, "")
		if v.Body["email_verified"] != true {
			t.Fatalf("verify = %s", v.Raw)
		}
		me = s.do("GET", "/api/v1/developers/me", nil, bearer(l.str("access_token"))).want(t, 200, "")
		if me.Body["email_verified"] != true || me.Body["email_verified_at"] == nil {
			t.Fatalf("me after verify = %s", me.Raw)
		}
		etag := me.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag on /developers/me")
		}
		nm := s.do("GET", "/api/v1/developers/me", nil, bearer(l.str("access_token")), hdr{"If-None-Match", etag})
		if nm.Status != 304 || len(nm.Raw) != 0 || nm.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match: %d %q etag %q", nm.Status, nm.Raw, nm.Header.Get("ETag"))
		}
	})
}

func TestRegister_RejectsBadInputAndWritesNothing(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.register("taken@example.com", false)
		before := s.countDevelopers()
		big := `{"email":"a@example.com","name":"x","password":"` + strings.Repeat("p", 1<<20) + `"}`
		cases := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"malformed JSON", `{"email":`, 400, "MALFORMED_JSON", ""},
			{"not an object", `[]`, 422, "INVALID_FIELD", ""},
			{"empty body", ``, 400, "MISSING_BODY", ""},
			{"unknown field", map[string]any{"email": "u@example.com", "name": "U", "password": goodPassword, "admin": true}, 422, "UNKNOWN_FIELD", "admin"},
			{"missing field", map[string]any{"email": "u@example.com", "name": "U"}, 422, "MISSING_FIELD", "password"},
			{"wrong type", map[string]any{"email": 5, "name": "U", "password": goodPassword}, 422, "INVALID_FIELD", "email"},
			{"bad email", map[string]any{"email": "not-an-email", "name": "U", "password": goodPassword}, 422, "INVALID_EMAIL", "email"},
			{"email with display name", map[string]any{"email": "U <u@example.com>", "name": "U", "password": goodPassword}, 422, "INVALID_EMAIL", "email"},
			{"short password", map[string]any{"email": "u@example.com", "name": "U", "password": "elevenchars"}, 422, "PASSWORD_TOO_SHORT", "password"},
			{"empty name", map[string]any{"email": "u@example.com", "name": "   ", "password": goodPassword}, 422, "INVALID_NAME", "name"},
			{"name too long (schema bound)", map[string]any{"email": "u@example.com", "name": strings.Repeat("n", 1025), "password": goodPassword}, 422, "INVALID_FIELD", "name"},
			{"duplicate email, other case", map[string]any{"email": "TAKEN@example.com", "name": "U", "password": goodPassword}, 409, "EMAIL_TAKEN", ""},
			{"oversized body", big, 413, "BODY_TOO_LARGE", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.do("POST", "/api/v1/auth/register", c.body).want(t, c.status, c.code)
				if c.field != "" && r.details()["field"] != c.field {
					t.Fatalf("details.field = %v, want %q: %s", r.details()["field"], c.field, r.Raw)
				}
			})
		}
		if after := s.countDevelopers(); after != before {
			t.Fatalf("developers %d → %d after rejected registrations", before, after)
		}
	})
}

func TestVerifyEmail_RejectsBadUsedAndMissingTokens(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.do("POST", "/api/v1/auth/register", map[string]string{"email": "v@example.com", "name": "V", "password": goodPassword}).want(t, 201, "")
		tok := s.mail.token(t, "v@example.com")
		s.do("GET", "/api/v1/auth/verify-email", nil).want(t, 422, "MISSING_FIELD")
		s.do("GET", "/api/v1/auth/verify-email?token=garbage", nil).want(t, 400, "INVALID_VERIFICATION_TOKEN")
		s.do("GET", "/api/v1/auth/verify-email?token=avev_"+strings.Repeat("A", 43), nil).want(t, 400, "INVALID_VERIFICATION_TOKEN")
		s.do("GET", "/api/v1/auth/verify-email?token="+tok, nil).want(t, 200, "")
		s.do("GET", "/api/v1/auth/verify-email?token="+tok, nil).want(t, 409, "VERIFICATION_TOKEN_USED")
	})
}

func TestResendVerification_AnswersAlikeForKnownAndUnknownEmails(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.do("POST", "/api/v1/auth/register", map[string]string{"email": "r@example.com", "name": "R", "password": goodPassword}).want(t, 201, "")
		first := s.mail.token(t, "r@example.com")
		a := s.do("POST", "/api/v1/auth/verify-email/resend", map[string]string{"email": "r@example.com"}).want(t, 202, "")
		b := s.do("POST", "/api/v1/auth/verify-email/resend", map[string]string{"email": "nobody@example.com"}).want(t, 202, "")
		if string(a.Raw) != string(b.Raw) {
			t.Fatalf("answers differ: %s vs %s", a.Raw, b.Raw)
		}
		second := s.mail.token(t, "r@example.com")
		if first == second {
			t.Fatal("no new link sent")
		}
		s.do("GET", "/api/v1/auth/verify-email?token="+second, nil).want(t, 200, "")
		s.do("POST", "/api/v1/auth/verify-email/resend", map[string]string{"email": "bad"}).want(t, 422, "INVALID_EMAIL")
	})
}

func TestLogin_RejectsWrongCredentials(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.register("l@example.com", true)
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": "l@example.com", "password": "wrong password!"}).want(t, 401, "INVALID_CREDENTIALS")
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": goodPassword}).want(t, 401, "INVALID_CREDENTIALS")
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": "nope", "password": goodPassword}).want(t, 422, "INVALID_EMAIL")
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": "l@example.com"}).want(t, 422, "MISSING_FIELD")
		// The admin account has no usable password.
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": "admin@sovereign.test", "password": "!"}).want(t, 401, "INVALID_CREDENTIALS")
	})
}

func TestLogin_BruteForceIsRateLimited(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.register("bf@example.com", true)
		var last resp
		for i := 0; i < 10; i++ {
			last = s.do("POST", "/api/v1/auth/login", map[string]string{"email": "bf@example.com", "password": fmt.Sprintf("guess number %d", i)})
			if last.Status == 429 {
				break
			}
			last.want(t, 401, "INVALID_CREDENTIALS")
		}
		last.want(t, 429, "RATE_LIMITED")
		ra, err := strconv.Atoi(last.Header.Get("Retry-After"))
		if err != nil || ra < 1 {
			t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
		}
		// Even the right password is refused while limited.
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": "bf@example.com", "password": goodPassword}).want(t, 429, "RATE_LIMITED")
	})
}

func TestAuthRoutes_AreRateLimitedPerAddress(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		got429 := false
		for i := 0; i < 5; i++ {
			r := s.do("POST", "/api/v1/auth/register", map[string]string{"email": fmt.Sprintf("ip%d@example.com", i), "name": "I", "password": goodPassword})
			if r.Status == 429 {
				r.want(t, 429, "RATE_LIMITED")
				got429 = true
				break
			}
		}
		if !got429 {
			t.Fatal("no 429 after 5 registrations from one address with auth burst 2")
		}
	}, func(c *config.Config) { c.RateLimits.AuthPerMinute, c.RateLimits.AuthBurst = 2, 2 })
}

func TestRefresh_RotatesAndReuseRevokesTheSession(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("rt@example.com", true)
		r1 := s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": d.Refresh}).want(t, 200, "")
		if r1.str("refresh_token") == d.Refresh || r1.str("access_token") == "" {
			t.Fatalf("refresh did not rotate: %s", r1.Raw)
		}
		s.do("GET", "/api/v1/developers/me", nil, bearer(r1.str("access_token"))).want(t, 200, "")
		// The first token again: reuse → the family is revoked.
		s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": d.Refresh}).want(t, 401, "REFRESH_TOKEN_REUSED")
		s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": r1.str("refresh_token")}).want(t, 401, "SESSION_REVOKED")
		s.do("GET", "/api/v1/developers/me", nil, bearer(r1.str("access_token"))).want(t, 401, "SESSION_REVOKED")
		s.do("GET", "/api/v1/developers/me", nil, bearer(d.Access)).want(t, 401, "SESSION_REVOKED")

		s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": "garbage"}).want(t, 401, "INVALID_REFRESH_TOKEN")
		s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": "avrt_" + strings.Repeat("A", 43)}).want(t, 401, "INVALID_REFRESH_TOKEN")
		s.do("POST", "/api/v1/auth/refresh", map[string]string{}).want(t, 422, "MISSING_FIELD")
	})
}

func TestLogout_EndsTheSession(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("lo@example.com", true)
		s.do("POST", "/api/v1/auth/logout", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/auth/logout", nil, bearer(d.Access)).want(t, 204, "")
		s.do("GET", "/api/v1/developers/me", nil, bearer(d.Access)).want(t, 401, "SESSION_REVOKED")
		s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": d.Refresh}).want(t, 401, "SESSION_REVOKED")

		// Logging out by refresh token (the access token may have expired).
		l := s.do("POST", "/api/v1/auth/login", map[string]string{"email": d.Email, "password": goodPassword}).want(t, 200, "")
		s.do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": l.str("refresh_token")}).want(t, 204, "")
		s.do("GET", "/api/v1/developers/me", nil, bearer(l.str("access_token"))).want(t, 401, "SESSION_REVOKED")
		s.do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": "nope"}).want(t, 401, "INVALID_REFRESH_TOKEN")
	})
}

func TestAccessToken_RejectsGarbageForgedAndAlgNone(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("jwt@example.com", true)
		parts := strings.Split(d.Access, ".")
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		for name, tok := range map[string]string{"garbage": "garbage", "alg none": none, "bad signature": tampered, "two parts": parts[0] + "." + parts[1]} {
			t.Run(name, func(t *testing.T) {
				r := s.do("GET", "/api/v1/developers/me", nil, bearer(tok)).want(t, 401, "INVALID_TOKEN")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
				}
			})
		}
		s.do("GET", "/api/v1/developers/me", nil, hdr{"Authorization", "Basic dXNlcjpwYXNz"}).want(t, 401, "INVALID_AUTHORIZATION_HEADER")
		s.do("GET", "/api/v1/developers/me", nil, hdr{"Authorization", "Bearer"}).want(t, 401, "INVALID_AUTHORIZATION_HEADER")
		s.do("GET", "/api/v1/developers/me", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		r := s.do("GET", "/api/v1/developers/me", nil, bearer(d.Access), hdr{"X-Api-Key", s.adminKey})
		r.want(t, 400, "AMBIGUOUS_CREDENTIALS")
	})
}

func TestAPIKeys_CreateUseListRevoke(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("keys@example.com", true)
		c := s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "ci"}, bearer(d.Access)).want(t, 201, "")
		key := c.str("key")
		if !strings.HasPrefix(key, "avreg_") || !strings.HasPrefix(key, c.str("prefix")) || c.str("status") != "active" {
			t.Fatalf("created key %s", c.Raw)
		}
		// Accepted as Bearer and as X-Api-Key; last use is recorded.
		s.do("GET", "/api/v1/developers/me", nil, bearer(key)).want(t, 200, "")
		me := s.do("GET", "/api/v1/developers/me", nil, hdr{"X-Api-Key", key}).want(t, 200, "")
		if me.str("id") != d.ID {
			t.Fatalf("API key authenticated as %s", me.str("id"))
		}
		list := s.do("GET", "/api/v1/developers/me/api-keys", nil, bearer(d.Access)).want(t, 200, "")
		items := list.Body["items"].([]any)
		if len(items) != 1 || strings.Contains(string(list.Raw), key) {
			t.Fatalf("list %s", list.Raw)
		}
		if items[0].(map[string]any)["last_used_at"] == nil {
			t.Fatalf("last_used_at not recorded: %s", list.Raw)
		}
		// Credential management needs a login session, not an API key.
		s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "x"}, bearer(key)).want(t, 403, "FORBIDDEN")
		// A read-only key cannot write.
		ro := s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "ro", "scopes": []string{"read"}}, bearer(d.Access)).want(t, 201, "")
		s.do("GET", "/api/v1/developers/me", nil, bearer(ro.str("key"))).want(t, 200, "")
		s.do("PATCH", "/api/v1/developers/me", map[string]any{"name": "New"}, bearer(ro.str("key"))).want(t, 403, "FORBIDDEN")

		s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "x", "scopes": []string{"admin"}}, bearer(d.Access)).want(t, 422, "INVALID_SCOPE")
		s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, bearer(d.Access)).want(t, 422, "INVALID_EXPIRES_AT")
		s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": ""}, bearer(d.Access)).want(t, 422, "INVALID_NAME")
		s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "x", "expires_at": "tomorrow"}, bearer(d.Access)).want(t, 422, "INVALID_FIELD")

		s.do("DELETE", "/api/v1/developers/me/api-keys/"+c.str("id"), nil, bearer(d.Access)).want(t, 204, "")
		s.do("DELETE", "/api/v1/developers/me/api-keys/"+c.str("id"), nil, bearer(d.Access)).want(t, 204, "")
		s.do("GET", "/api/v1/developers/me", nil, bearer(key)).want(t, 401, "API_KEY_REVOKED")
		s.do("DELETE", "/api/v1/developers/me/api-keys/key_nope", nil, bearer(d.Access)).want(t, 404, "API_KEY_NOT_FOUND")
		s.do("GET", "/api/v1/developers/me", nil, bearer("avreg_"+strings.Repeat("A", 43))).want(t, 401, "INVALID_API_KEY")
		s.do("GET", "/api/v1/developers/me", nil, hdr{"X-Api-Key", "avreg_short"}).want(t, 401, "INVALID_API_KEY")

		// Another developer cannot revoke this developer's key.
		other := s.register("other@example.com", true)
		s.do("DELETE", "/api/v1/developers/me/api-keys/"+ro.str("id"), nil, bearer(other.Access)).want(t, 404, "API_KEY_NOT_FOUND")

		list = s.do("GET", "/api/v1/developers/me/api-keys", nil, bearer(d.Access)).want(t, 200, "")
		if st := list.Body["items"].([]any)[0].(map[string]any)["status"]; st != "revoked" {
			t.Fatalf("revoked key status %v", st)
		}
	})
}

func TestAPIKeys_ExpiredKeyIsRejected(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("exp@example.com", true)
		exp := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
		c := s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "short", "expires_at": exp}, bearer(d.Access)).want(t, 201, "")
		s.do("GET", "/api/v1/developers/me", nil, bearer(c.str("key"))).want(t, 200, "")
		time.Sleep(1600 * time.Millisecond)
		s.do("GET", "/api/v1/developers/me", nil, bearer(c.str("key"))).want(t, 401, "API_KEY_EXPIRED")
	})
}

func TestList_PaginatesWithCursor(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("page@example.com", true)
		for i := 0; i < 5; i++ {
			s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": fmt.Sprintf("k%d", i)}, bearer(d.Access)).want(t, 201, "")
		}
		var names []string
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			r := s.do("GET", "/api/v1/developers/me/api-keys?limit=2&cursor="+cursor, nil, bearer(d.Access)).want(t, 200, "")
			for _, it := range r.Body["items"].([]any) {
				names = append(names, it.(map[string]any)["name"].(string))
			}
			cursor = r.str("next_cursor")
			if cursor == "" {
				break
			}
		}
		if strings.Join(names, ",") != "k0,k1,k2,k3,k4" {
			t.Fatalf("paged names %v", names)
		}
		s.do("GET", "/api/v1/developers/me/api-keys?cursor=garbage!", nil, bearer(d.Access)).want(t, 422, "INVALID_CURSOR")
		s.do("GET", "/api/v1/developers/me/api-keys?limit=0", nil, bearer(d.Access)).want(t, 422, "INVALID_FIELD")
		s.do("GET", "/api/v1/developers/me/api-keys?limit=501", nil, bearer(d.Access)).want(t, 422, "INVALID_FIELD")
	})
}

func TestRecovery_ResetsPasswordOnceAndEndsSessions(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("rec@example.com", true)
		const newPassword = "a brand new password"
		body := map[string]string{"email": d.Email, "recovery_key": d.RecoveryKeys[1], "new_password": newPassword}
		r := s.do("POST", "/api/v1/auth/recover", body).want(t, 200, "")
		if r.Body["remaining_recovery_keys"].(float64) != 2 {
			t.Fatalf("recover = %s", r.Raw)
		}
		s.do("POST", "/api/v1/auth/recover", body).want(t, 401, "INVALID_RECOVERY_KEY")
		s.do("GET", "/api/v1/developers/me", nil, bearer(d.Access)).want(t, 401, "SESSION_REVOKED")
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": d.Email, "password": goodPassword}).want(t, 401, "INVALID_CREDENTIALS")
		l := s.do("POST", "/api/v1/auth/login", map[string]string{"email": d.Email, "password": newPassword}).want(t, 200, "")

		s.do("POST", "/api/v1/auth/recover", map[string]string{"email": "nobody@example.com", "recovery_key": d.RecoveryKeys[0], "new_password": newPassword}).want(t, 401, "INVALID_RECOVERY_KEY")
		s.do("POST", "/api/v1/auth/recover", map[string]string{"email": d.Email, "recovery_key": "garbage", "new_password": newPassword}).want(t, 401, "INVALID_RECOVERY_KEY")
		s.do("POST", "/api/v1/auth/recover", map[string]string{"email": d.Email, "recovery_key": d.RecoveryKeys[0], "new_password": "short"}).want(t, 422, "PASSWORD_TOO_SHORT")

		// Rotating the keys invalidates the unused old ones.
		rot := s.do("POST", "/api/v1/developers/me/recovery-keys", nil, bearer(l.str("access_token"))).want(t, 201, "")
		if len(rot.Body["recovery_keys"].([]any)) != 3 {
			t.Fatalf("rotate = %s", rot.Raw)
		}
		s.do("POST", "/api/v1/auth/recover", map[string]string{"email": d.Email, "recovery_key": d.RecoveryKeys[0], "new_password": newPassword}).want(t, 401, "INVALID_RECOVERY_KEY")
		fresh := rot.Body["recovery_keys"].([]any)[0].(string)
		s.do("POST", "/api/v1/auth/recover", map[string]string{"email": d.Email, "recovery_key": fresh, "new_password": newPassword}).want(t, 200, "")
		s.do("POST", "/api/v1/developers/me/recovery-keys", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
	})
}

func TestProfile_UpdateAndValidation(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		d := s.register("prof@example.com", true)
		r := s.do("PATCH", "/api/v1/developers/me", map[string]any{"name": "Grace Hopper"}, bearer(d.Access)).want(t, 200, "")
		if r.str("name") != "Grace Hopper" || r.Header.Get("ETag") == "" {
			t.Fatalf("update = %s", r.Raw)
		}
		s.do("PATCH", "/api/v1/developers/me", map[string]any{"name": ""}, bearer(d.Access)).want(t, 422, "INVALID_NAME")
		s.do("PATCH", "/api/v1/developers/me", map[string]any{"email": "x@example.com"}, bearer(d.Access)).want(t, 422, "UNKNOWN_FIELD")
		s.do("PATCH", "/api/v1/developers/me", map[string]any{"name": "X"}).want(t, 401, "AUTHENTICATION_REQUIRED")
		got := s.do("GET", "/api/v1/developers/"+d.ID, nil, bearer(d.Access)).want(t, 200, "")
		if got.str("name") != "Grace Hopper" {
			t.Fatalf("get self = %s", got.Raw)
		}
	})
}

func TestAdmin_ListsAndReadsDevelopers_OthersMayNot(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		a := s.register("a@example.com", true)
		b := s.register("b@example.com", false)
		all := s.do("GET", "/api/v1/developers?limit=2", nil, bearer(s.adminKey)).want(t, 200, "")
		if len(all.Body["items"].([]any)) != 2 || all.str("next_cursor") == "" {
			t.Fatalf("page 1 = %s", all.Raw)
		}
		p2 := s.do("GET", "/api/v1/developers?limit=2&cursor="+all.str("next_cursor"), nil, bearer(s.adminKey)).want(t, 200, "")
		if len(p2.Body["items"].([]any)) != 1 || p2.str("next_cursor") != "" {
			t.Fatalf("page 2 = %s", p2.Raw)
		}
		etag := all.Header.Get("ETag")
		if nm := s.do("GET", "/api/v1/developers?limit=2", nil, bearer(s.adminKey), hdr{"If-None-Match", etag}); nm.Status != 304 {
			t.Fatalf("If-None-Match on list: %d", nm.Status)
		}
		s.do("GET", "/api/v1/developers/"+b.ID, nil, bearer(s.adminKey)).want(t, 200, "")
		s.do("GET", "/api/v1/developers/dev_nope", nil, bearer(s.adminKey)).want(t, 404, "DEVELOPER_NOT_FOUND")
		s.do("GET", "/api/v1/developers", nil, bearer(a.Access)).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/developers/"+b.ID, nil, bearer(a.Access)).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/developers", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		me := s.do("GET", "/api/v1/developers/me", nil, hdr{"X-Api-Key", s.adminKey}).want(t, 200, "")
		if me.str("role") != "admin" || me.Body["email_verified"] != true {
			t.Fatalf("admin = %s", me.Raw)
		}
	})
}
