package identity

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
)

// didKeyPrefix is the multicodec prefix of an Ed25519 public key (0xed, varint-encoded).
var didKeyPrefix = []byte{0xed, 0x01}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// DIDKey is the did:key DID of an Ed25519 public key: "did:key:z" followed by the
// base58btc encoding of the multicodec-prefixed key.
func DIDKey(pub ed25519.PublicKey) string {
	return "did:key:z" + base58Encode(append(append([]byte{}, didKeyPrefix...), pub...))
}

// ParseDIDKey returns the Ed25519 public key of a did:key DID; a key that fails
// ed25519strict.CheckPublicKey (small order, non-canonical) is an error.
func ParseDIDKey(did string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(did, "did:key:z")
	if !ok {
		return nil, errors.New("identity: not a base58btc did:key")
	}
	b, err := base58Decode(rest)
	if err != nil {
		return nil, err
	}
	if len(b) != len(didKeyPrefix)+ed25519.PublicKeySize || b[0] != didKeyPrefix[0] || b[1] != didKeyPrefix[1] {
		return nil, errors.New("identity: did:key is not an Ed25519 key")
	}
	if err := ed25519strict.CheckPublicKey(b[2:]); err != nil {
		return nil, fmt.Errorf("identity: did:key: %w", err)
	}
	return ed25519.PublicKey(b[2:]), nil
}

func base58Encode(b []byte) string {
	n := new(big.Int).SetBytes(b)
	mod := new(big.Int)
	base := big.NewInt(58)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, base58Alphabet[0])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func base58Decode(s string) ([]byte, error) {
	n := new(big.Int)
	base := big.NewInt(58)
	for _, c := range s {
		i := strings.IndexRune(base58Alphabet, c)
		if i < 0 {
			return nil, errors.New("identity: invalid base58 character")
		}
		n.Mul(n, base)
		n.Add(n, big.NewInt(int64(i)))
	}
	out := n.Bytes()
	for _, c := range s {
		if c != rune(base58Alphabet[0]) {
			break
		}
		out = append([]byte{0}, out...)
	}
	return out, nil
}
