// Package attestation is the domain of attestations: signed statements that an agent made a
// verified contribution — a paid task completed, uptime, a code review, a data-quality check —
// each about one subject agent, pointing at its evidence by hash and URI. It checks them
// (form, signatures, co-signatures, limits), stores them through a Store, pays each new one a
// reward from the treasury exactly once, and counts them for the reputation score. It has no
// SQL and no HTTP.
package attestation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// The types of attestation.
const (
	// TypeTaskCompleted: the subject (the attester, the payee) completed the paid task of a
	// ledger transfer; co-signed by the transfer's payer.
	TypeTaskCompleted = "task_completed"
	// TypeUptime: the subject kept sending heartbeats; issued by the registry itself from its
	// heartbeat record, never submitted by an agent.
	TypeUptime = "uptime"
	// TypeCodeReview: the attester reviewed the subject's code (the attester alone signs).
	TypeCodeReview = "code_review"
	// TypeDataQuality: the attester checked the quality of the subject's data (the attester
	// alone signs).
	TypeDataQuality = "data_quality"
)

// Types are the known types, in a stable order.
var Types = []string{TypeTaskCompleted, TypeUptime, TypeCodeReview, TypeDataQuality}

// KnownType reports whether t is an attestation type.
func KnownType(t string) bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Bounds of a statement.
const (
	// MaxEvidenceURI is the longest evidence URI, in bytes.
	MaxEvidenceURI = 512
	// MaxEvidenceHash is the length of an evidence hash: "sha256:" and 64 lowercase hex digits.
	MaxEvidenceHash = len(evidenceHashPrefix) + 64
	// MaxSignature bounds a signature's value (a JWT-SVID is well under it).
	MaxSignature = 4096
	// MaxSubmission bounds a submission's JSON document.
	MaxSubmission = 16 << 10
	// FutureSkew is how far in the future issued_at may be (clocks differ).
	FutureSkew = 5 * time.Minute
)

const evidenceHashPrefix = "sha256:"

// The signature algorithms.
const (
	// AlgEdDSA: an Ed25519 signature (base64url, no padding) over Statement.Canonical(), made
	// with the signer's registered key.
	AlgEdDSA = "EdDSA"
	// AlgJWTSVID: a JWT-SVID of the signer whose one audience is Statement.Audience(td): the
	// trust domain's JWT authority vouches for the signer, the audience binds the statement.
	AlgJWTSVID = "JWT-SVID"
)

// Statement is what an attestation says and what its signatures sign.
type Statement struct {
	Type     string `json:"type"`
	Subject  string `json:"subject"`
	Attester string `json:"attester"`
	// EvidenceHash is "sha256:<64 lowercase hex>" of the evidence.
	EvidenceHash string `json:"evidence_hash"`
	// EvidenceURI is where the evidence is (http, https or ipfs).
	EvidenceURI string    `json:"evidence_uri"`
	IssuedAt    time.Time `json:"issued_at"`
	// TransferID is the ledger transfer of a task_completed attestation ("" for other types).
	TransferID string `json:"transfer_id,omitempty"`
}

// Canonical is the byte string a signature signs: a version line and one "name=value" line per
// field, in a fixed order, issued_at in RFC 3339 UTC seconds. Every field is printable ASCII
// without newlines (Validate), so the form is unambiguous.
func (s Statement) Canonical() []byte {
	var b bytes.Buffer
	b.WriteString("sovereign-attestation/v1\n")
	for _, kv := range [][2]string{{"type", s.Type}, {"subject", s.Subject}, {"attester", s.Attester},
		{"evidence_hash", s.EvidenceHash}, {"evidence_uri", s.EvidenceURI},
		{"issued_at", s.IssuedAt.UTC().Format(time.RFC3339)}, {"transfer_id", s.TransferID}} {
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Digest is the SHA-256 of Canonical, in lowercase hex.
func (s Statement) Digest() string {
	d := sha256.Sum256(s.Canonical())
	return hex.EncodeToString(d[:])
}

// ID is the attestation's id: "att_" and its digest, so the id names exactly what was signed.
func (s Statement) ID() string { return IDPrefix + s.Digest() }

// IDPrefix starts every attestation id.
const IDPrefix = "att_"

// Audience is the audience a JWT-SVID signature of s carries: the SPIFFE ID
// spiffe://<trust domain>/attestation/<digest>, which any agent can ask a token for.
func (s Statement) Audience(trustDomain string) string {
	return "spiffe://" + trustDomain + "/attestation/" + s.Digest()
}

// RewardKey is the idempotency key of the reward for an attestation of (subject, typ,
// evidenceHash): the same for every replay, so the ledger applies at most one reward command
// for it, however often the payment is retried.
func RewardKey(subject, typ, evidenceHash string) string {
	d := sha256.Sum256([]byte(subject + "\n" + typ + "\n" + evidenceHash))
	return "att-reward-" + hex.EncodeToString(d[:24])
}

// Signature is one signature of a statement.
type Signature struct {
	// Signer is who signed: an agent id, or the SPIFFE ID of a service of the stack (the
	// registry signs uptime attestations).
	Signer string `json:"signer"`
	Alg    string `json:"alg"`
	// Key is the did:key of the Ed25519 key that verified an EdDSA signature (the server fills
	// it in from the signer's registered key), so anyone verifies it later without asking.
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

// Attestation is a stored, verified attestation and its reward.
type Attestation struct {
	ID string `json:"id"`
	Statement
	Signature   Signature  `json:"signature"`
	Cosignature *Signature `json:"cosignature,omitempty"`
	// Reward is what the treasury pays the subject, under the idempotency key RewardKey (see
	// the function RewardKey); RewardPaid says the ledger confirmed it, with RewardTransfer
	// the transfer that paid it ("" for a zero reward).
	Reward         avt.Amount `json:"reward"`
	RewardKey      string     `json:"reward_key"`
	RewardPaid     bool       `json:"reward_paid"`
	RewardTransfer string     `json:"reward_transfer,omitempty"`
	// CreatedAt is when the stack accepted it (JWT-SVID signatures verify as of this time).
	CreatedAt time.Time `json:"created_at"`
}

// Submission is an attestation as an attester submits it.
type Submission struct {
	Statement
	Signature   Signature  `json:"signature"`
	Cosignature *Signature `json:"cosignature,omitempty"`
}

// The errors of an attestation's form (each a specific code; nothing is stored or paid).
var (
	ErrUnknownType         = apperr.New(apperr.Invalid, "UNKNOWN_ATTESTATION_TYPE", "type must be one of task_completed, uptime, code_review, data_quality").With("field", "type")
	ErrInvalidSubject      = apperr.New(apperr.Invalid, "INVALID_SUBJECT", "subject must be an agent id (1 to 128 printable ASCII characters)").With("field", "subject")
	ErrInvalidAttester     = apperr.New(apperr.Invalid, "INVALID_ATTESTER", "attester must be an agent id").With("field", "attester")
	ErrEvidenceTooLarge    = apperr.New(apperr.Invalid, "EVIDENCE_TOO_LARGE", "evidence_hash is at most 71 bytes and evidence_uri at most 512")
	ErrInvalidEvidenceHash = apperr.New(apperr.Invalid, "INVALID_EVIDENCE_HASH", "evidence_hash must be sha256:<64 lowercase hex digits>").With("field", "evidence_hash")
	ErrInvalidEvidenceURI  = apperr.New(apperr.Invalid, "INVALID_EVIDENCE_URI", "evidence_uri must be an absolute https, http or ipfs URI of printable ASCII, without credentials").With("field", "evidence_uri")
	ErrMissingIssuedAt     = apperr.New(apperr.Invalid, "INVALID_ISSUED_AT", "issued_at is required (RFC 3339)").With("field", "issued_at")
	ErrInvalidTransfer     = apperr.New(apperr.Invalid, "INVALID_TRANSFER_ID", "transfer_id is required for task_completed (1 to 128 printable ASCII characters) and not allowed for other types").With("field", "transfer_id")
	ErrInvalidSignature    = apperr.New(apperr.Invalid, "INVALID_SIGNATURE", "a signature is {signer, alg: EdDSA|JWT-SVID, value} with a value of at most 4096 bytes")
	ErrMalformed           = apperr.New(apperr.BadRequest, "MALFORMED_ATTESTATION", "the attestation is not a JSON object of the documented fields")
)

// printable reports whether s is non-empty printable ASCII without spaces.
func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidEvidenceHash checks the form "sha256:<64 lowercase hex>".
func ValidEvidenceHash(h string) error {
	if len(h) > MaxEvidenceHash {
		return ErrEvidenceTooLarge.With("field", "evidence_hash").With("bytes", len(h))
	}
	hexPart, ok := strings.CutPrefix(h, evidenceHashPrefix)
	if !ok || len(hexPart) != 64 {
		return ErrInvalidEvidenceHash
	}
	for i := 0; i < len(hexPart); i++ {
		c := hexPart[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ErrInvalidEvidenceHash
		}
	}
	return nil
}

// ValidEvidenceURI checks an evidence URI: at most MaxEvidenceURI bytes of printable ASCII, an
// absolute https or http URL with a host and no user information, or ipfs://<cid>[/path].
func ValidEvidenceURI(u string) error {
	if len(u) > MaxEvidenceURI {
		return ErrEvidenceTooLarge.With("field", "evidence_uri").With("bytes", len(u))
	}
	if !printable(u) {
		return ErrInvalidEvidenceURI
	}
	p, err := url.Parse(u)
	if err != nil || p.User != nil || p.Host == "" || p.Opaque != "" {
		return ErrInvalidEvidenceURI
	}
	switch p.Scheme {
	case "https", "http", "ipfs":
	default:
		return ErrInvalidEvidenceURI
	}
	return nil
}

func validSignature(sig *Signature, field string) error {
	if sig == nil || !printable(sig.Signer) || len(sig.Signer) > teg.MaxIDLen || len(sig.Value) > MaxSignature || !printable(sig.Value) ||
		(sig.Alg != AlgEdDSA && sig.Alg != AlgJWTSVID) || (sig.Key != "" && !printable(sig.Key)) || len(sig.Key) > 256 {
		return ErrInvalidSignature.With("field", field)
	}
	return nil
}

// Validate checks the form of a statement (not its time: see Service): a known type, an agent
// subject and attester (the registry, a SPIFFE ID, for uptime), the evidence's hash and URI, a
// transfer id exactly for task_completed.
func (s Statement) Validate() error {
	if !KnownType(s.Type) {
		return ErrUnknownType.With("type", truncate(s.Type, 64))
	}
	if teg.ValidateAgentAccount(teg.AccountID(s.Subject)) != nil {
		return ErrInvalidSubject
	}
	if s.Type == TypeUptime {
		if !strings.HasPrefix(s.Attester, "spiffe://") || !printable(s.Attester) || len(s.Attester) > teg.MaxIDLen {
			return ErrInvalidAttester
		}
	} else if teg.ValidateAgentAccount(teg.AccountID(s.Attester)) != nil {
		return ErrInvalidAttester
	}
	if err := ValidEvidenceHash(s.EvidenceHash); err != nil {
		return err
	}
	if err := ValidEvidenceURI(s.EvidenceURI); err != nil {
		return err
	}
	if s.IssuedAt.IsZero() {
		return ErrMissingIssuedAt
	}
	if (s.Type == TypeTaskCompleted) != (s.TransferID != "") || (s.TransferID != "" && (!printable(s.TransferID) || len(s.TransferID) > teg.MaxIDLen)) {
		return ErrInvalidTransfer
	}
	return nil
}

// Validate checks a submission's statement and the form of its signatures.
func (s Submission) Validate() error {
	if err := s.Statement.Validate(); err != nil {
		return err
	}
	if err := validSignature(&s.Signature, "signature"); err != nil {
		return err
	}
	if s.Cosignature != nil {
		return validSignature(s.Cosignature, "cosignature")
	}
	return nil
}

// Parse reads a submission (or a stored attestation: the extra fields are ignored only when
// they are an attestation's) from JSON and validates its form. Unknown fields, trailing data
// and documents over MaxSubmission bytes are MALFORMED_ATTESTATION.
func Parse(data []byte) (Submission, error) {
	if len(data) > MaxSubmission {
		return Submission{}, ErrMalformed.With("reason", "larger than 16 KiB")
	}
	var a Attestation
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Submission{}, ErrMalformed.With("reason", truncate(err.Error(), 200))
	}
	if dec.More() {
		return Submission{}, ErrMalformed.With("reason", "data after the JSON object")
	}
	s := Submission{Statement: a.Statement, Signature: a.Signature, Cosignature: a.Cosignature}
	s.IssuedAt = s.IssuedAt.UTC().Truncate(time.Second)
	if err := s.Validate(); err != nil {
		return Submission{}, err
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
