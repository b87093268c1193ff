package identity

import (
	"context"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/sovereign-stack/sovereign/apperr"
)

// ErrInvalidJWTSVID is returned for a JWT-SVID that does not verify: bad signature, unknown key,
// expired, wrong audience or trust domain, or not a JWT at all.
var ErrInvalidJWTSVID = apperr.New(apperr.Unauthenticated, "INVALID_JWT_SVID", "the JWT-SVID is invalid, expired or not for this audience")

// VerifyJWTSVID checks token against the issuer's current JWT bundle and audience (the SPIFFE ID
// of the service it is presented to), and returns the SPIFFE ID it speaks for and when it expires.
func VerifyJWTSVID(ctx context.Context, issuer Issuer, token string, audience spiffeid.ID) (spiffeid.ID, time.Time, error) {
	b, err := issuer.Bundle(ctx)
	if err != nil {
		return spiffeid.ID{}, time.Time{}, apperr.Internalf("identity bundle: %w", err)
	}
	svid, err := jwtsvid.ParseAndValidate(token, b, []string{audience.String()})
	if err != nil {
		return spiffeid.ID{}, time.Time{}, ErrInvalidJWTSVID.With("reason", err.Error())
	}
	return svid.ID, svid.Expiry, nil
}
