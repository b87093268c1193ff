package httpapi

import (
	"encoding/json"
	"net/http"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	return b
}

// WriteJSON writes v as a JSON response with status, for the few routes that are not huma
// operations (health checks).
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }
