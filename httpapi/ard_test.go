package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
)

func TestARDError_MapsKindsToARDCodes(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
		msg    string
	}{
		{apperr.New(apperr.BadRequest, "INVALID_ARGUMENT", "bad filter"), 400, "INVALID_ARGUMENT", "bad filter"},
		{apperr.New(apperr.Invalid, "INVALID_FIELD", "limit must be between 1 and 500"), 400, "INVALID_ARGUMENT", "limit must be between 1 and 500"},
		{apperr.New(apperr.Unauthenticated, "AUTHENTICATION_REQUIRED", "log in"), 401, "UNAUTHENTICATED", "log in"},
		{apperr.New(apperr.NotFound, "CARD_NOT_FOUND", "no card"), 404, "NOT_FOUND", "no card"},
		{apperr.New(apperr.TooLarge, "BODY_TOO_LARGE", "too big"), 413, "PAYLOAD_TOO_LARGE", "too big"},
		{apperr.New(apperr.TooManyRequests, "RATE_LIMITED", "slow down").With("retry_after_seconds", 7), 429, "RESOURCE_EXHAUSTED", "slow down"},
		{apperr.New(apperr.Unavailable, "INDEX_LOADING", "loading"), 503, "UNAVAILABLE", "loading"},
		{errors.New("secret cause"), 500, "INTERNAL", "internal error"},
		{context.Canceled, 503, "UNAVAILABLE", "the request was cancelled or timed out"},
	} {
		status, code, msg, hdr := httpapi.ARDError(context.Background(), c.err)
		if status != c.status || code != c.code || msg != c.msg {
			t.Errorf("%v: got %d %s %q, want %d %s %q", c.err, status, code, msg, c.status, c.code, c.msg)
		}
		if status == http.StatusTooManyRequests && hdr.Get("Retry-After") != "7" {
			t.Errorf("Retry-After %q", hdr.Get("Retry-After"))
		}
	}
}
