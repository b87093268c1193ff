package server_test

import (
	"testing"
)

// TestDeveloperStatus_SuspendEndsSessionsAndRefusesKeys: an admin suspends a developer; their
// access token, refresh token and API key stop working and they cannot log in; a reactivation
// lets the key and a new login work again (the ended sessions stay ended).
func TestDeveloperStatus_SuspendEndsSessionsAndRefusesKeys(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		ada := s.register("ada@example.com", true)
		bob := s.register("bob@example.com", true)
		key := s.do("POST", "/api/v1/developers/me/api-keys", map[string]any{"name": "ci"}, bearer(ada.Access)).want(t, 201, "").str("key")
		path := "/api/v1/developers/" + ada.ID + "/status"

		s.do("POST", path, map[string]string{"status": "suspended"}, bearer(bob.Access)).want(t, 403, "ADMIN_REQUIRED")
		s.do("POST", path, map[string]string{"status": "frozen"}, admin).want(t, 422, "INVALID_FIELD")
		s.do("POST", "/api/v1/developers/dev_nonexistent/status", map[string]string{"status": "suspended"}, admin).want(t, 404, "DEVELOPER_NOT_FOUND")
		r := s.do("POST", path, map[string]string{"status": "suspended"}, admin).want(t, 200, "")
		if r.Body["suspended_at"] == nil {
			t.Fatalf("no suspended_at: %s", r.Raw)
		}
		s.do("GET", "/api/v1/developers/me", nil, bearer(ada.Access)).want(t, 401, "SESSION_REVOKED")
		s.do("GET", "/api/v1/developers/me", nil, bearer(key)).want(t, 403, "DEVELOPER_SUSPENDED")
		s.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": ada.Refresh}).want(t, 401, "SESSION_REVOKED")
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": ada.Email, "password": goodPassword}).want(t, 403, "DEVELOPER_SUSPENDED")
		s.do("GET", "/api/v1/developers/"+ada.ID, nil, admin).want(t, 200, "")

		s.do("POST", path, map[string]string{"status": "active"}, admin).want(t, 200, "")
		s.do("GET", "/api/v1/developers/me", nil, bearer(key)).want(t, 200, "")
		s.do("POST", "/api/v1/auth/login", map[string]string{"email": ada.Email, "password": goodPassword}).want(t, 200, "")
	})
}
