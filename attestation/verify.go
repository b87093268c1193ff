package attestation

import (
	"crypto/ed25519"
	"encoding/base64"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
)

// ErrSignatureInvalid is a signature that does not verify: forged, made with another key, of
// another statement, or a JWT-SVID that is expired, of another signer or for another audience.
var ErrSignatureInvalid = apperr.New(apperr.Invalid, "ATTESTATION_SIGNATURE_INVALID", "the signature does not verify for this statement and signer")

// jwtAlgs are the algorithms of JWT-SVIDs (those go-spiffe's jwtsvid accepts).
var jwtAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}

// signerID is the SPIFFE ID a signer speaks as: an agent id's spiffe://<td>/agent/<id>, or the
// signer itself when it is a SPIFFE ID (a service of the stack).
func signerID(td spiffeid.TrustDomain, signer string) (spiffeid.ID, error) {
	if id, err := spiffeid.FromString(signer); err == nil {
		return id, nil
	}
	return identity.AgentID(td, signer)
}

// VerifyJWTSVID checks a JWT-SVID signature of st by sig.Signer against the trust domain's JWT
// authorities (bundle) as of at: the signature by an authority of the bundle (by key id), the
// subject (the signer's SPIFFE ID in td), the one audience st.Audience(td), and that the token
// was valid at at. Verifying as of the time the stack accepted the attestation lets anyone
// check it after the short-lived token expired, for as long as its key is in the bundle.
func VerifyJWTSVID(st Statement, sig Signature, td spiffeid.TrustDomain, bundle jwtbundle.Source, at time.Time) error {
	bad := func(reason string) error {
		return ErrSignatureInvalid.With("signer", sig.Signer).With("reason", reason)
	}
	want, err := signerID(td, sig.Signer)
	if err != nil || want.TrustDomain() != td {
		return bad("the signer is not of the trust domain " + td.String())
	}
	tok, err := jwt.ParseSigned(sig.Value, jwtAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return bad("not a JWT-SVID")
	}
	b, err := bundle.GetJWTBundleForTrustDomain(td)
	if err != nil {
		return bad("no JWT authorities for the trust domain")
	}
	key, ok := b.FindJWTAuthority(tok.Headers[0].KeyID)
	if !ok {
		return bad("signed by a key the trust bundle does not hold")
	}
	var claims jwt.Claims
	if err := tok.Claims(key, &claims); err != nil {
		return bad("the token's signature does not verify")
	}
	if claims.Subject != want.String() {
		return bad("the token is not the signer's")
	}
	if len(claims.Audience) != 1 || claims.Audience[0] != st.Audience(td.Name()) {
		return bad("the token's audience is not this statement")
	}
	if claims.Expiry == nil {
		return bad("the token has no expiry")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: at}, time.Minute); err != nil {
		return bad("the token was not valid when the attestation was accepted: " + err.Error())
	}
	return nil
}

// VerifyEd25519 checks an EdDSA signature of st with pub (strict RFC 8032 verification).
func VerifyEd25519(st Statement, sig Signature, pub ed25519.PublicKey) error {
	raw, err := base64.RawURLEncoding.DecodeString(sig.Value)
	if err != nil || !ed25519strict.Verify(pub, st.Canonical(), raw) {
		return ErrSignatureInvalid.With("signer", sig.Signer).With("reason", "the Ed25519 signature does not verify with the signer's key")
	}
	return nil
}

// SignEd25519 is the EdDSA signature of st by signer with its key, as a Signature.
func SignEd25519(st Statement, signer string, key ed25519.PrivateKey) Signature {
	pub := key.Public().(ed25519.PublicKey)
	return Signature{Signer: signer, Alg: AlgEdDSA, Key: identity.DIDKey(pub),
		Value: base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, st.Canonical()))}
}

// Verified is what Verify found of a stored attestation.
type Verified struct {
	ID          string `json:"id"`
	Valid       bool   `json:"valid"`
	Signature   string `json:"signature"`             // "valid" or why not
	Cosignature string `json:"cosignature,omitempty"` // likewise, when there is one
}

// Verify checks a stored attestation offline, with nothing but the trust bundle of its stack:
// that its id is its statement's digest; an EdDSA signature against the did:key it names (the
// signer's registered key, which the registry publishes as the agent's DID); a JWT-SVID
// signature against the bundle as of the attestation's created_at. It does not check the rules
// the stack applied when accepting it (the payer of the transfer, the limits).
func Verify(a Attestation, td spiffeid.TrustDomain, bundle jwtbundle.Source) Verified {
	v := Verified{ID: a.ID}
	if a.ID != a.Statement.ID() {
		v.Signature = "the id is not the digest of the statement"
		return v
	}
	check := func(sig Signature) string {
		var err error
		switch sig.Alg {
		case AlgEdDSA:
			pub, perr := identity.ParseDIDKey(sig.Key)
			if perr != nil {
				return "no valid did:key for the Ed25519 signature"
			}
			err = VerifyEd25519(a.Statement, sig, pub)
		case AlgJWTSVID:
			if bundle == nil {
				return "a JWT-SVID signature needs the trust bundle"
			}
			err = VerifyJWTSVID(a.Statement, sig, td, bundle, a.CreatedAt)
		default:
			return "unknown algorithm " + truncate(sig.Alg, 32)
		}
		if err != nil {
			if e, ok := apperr.As(err); ok {
				if r, ok := e.Details["reason"].(string); ok {
					return r
				}
			}
			return err.Error()
		}
		return "valid"
	}
	v.Signature = check(a.Signature)
	v.Valid = v.Signature == "valid"
	if a.Cosignature != nil {
		v.Cosignature = check(*a.Cosignature)
		v.Valid = v.Valid && v.Cosignature == "valid"
	}
	return v
}
