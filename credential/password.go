// Package credential holds the secrets developers and agents prove themselves with: argon2id
// password hashes, random bearer secrets (API keys, refresh tokens, recovery keys) stored only as
// hashes, and signed JWT access tokens. It does no I/O.
package credential

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"
)

// PasswordParams are the argon2id cost parameters.
type PasswordParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultPasswordParams follow OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane).
var DefaultPasswordParams = PasswordParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Limits on password input.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
	saltLen        = 16
	keyLen         = 32
)

var errMalformedHash = errors.New("credential: malformed password hash")

// HashPassword returns the PHC-format argon2id hash of password
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash). It runs unbounded: servers hash through a Hasher.
func HashPassword(password string, p PasswordParams) (string, error) {
	return hashWith(idKey, password, p)
}

// VerifyPassword reports whether password matches encoded, in constant time for a given hash.
// A hash that cannot be parsed (such as the unusable hash of an account without a password)
// never matches. It runs unbounded: servers verify through a Hasher.
func VerifyPassword(password, encoded string) bool {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false
	}
	return verifyWith(idKey, password, p, salt, key)
}

// kdf is the key derivation a Hasher runs (argon2id; tests count calls through it).
type kdf func(password, salt []byte, p PasswordParams, n uint32) []byte

func idKey(password, salt []byte, p PasswordParams, n uint32) []byte {
	return argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, n)
}

func hashWith(f kdf, password string, p PasswordParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := f([]byte(password), salt, p, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func verifyWith(f kdf, password string, p PasswordParams, salt, key []byte) bool {
	got := f([]byte(password), salt, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// ErrBusy is returned by a Hasher when its memory budget stayed taken for as long as a call
// may wait (or its queue was full).
var ErrBusy = errors.New("credential: password hashing is at capacity")

// HashLimits bound the argon2id work a Hasher runs at once. Each hash or verification holds
// the memory its parameters name (m, 19 MiB by default) while it runs; calls beyond the budget
// queue, and fail with ErrBusy when the queue is full or their wait runs out.
type HashLimits struct {
	// MaxMemoryKiB is the argon2id memory that may be in use at once. A single hash larger than
	// the budget runs alone.
	MaxMemoryKiB uint64
	// MaxConcurrent, when positive, narrows the budget to this many hashes of the Hasher's
	// parameters: argon2id is CPU-bound, so hashes beyond the CPUs only add memory and delay
	// every other request. Zero means runtime.GOMAXPROCS.
	MaxConcurrent int
	// MaxWaiting is how many calls may wait for memory; a call beyond it fails at once.
	MaxWaiting int
	// MaxWait is how long a call waits for memory before it fails.
	MaxWait time.Duration
}

// DefaultHashLimits allow 128 MiB of argon2id memory at once (six hashes at the default
// parameters) and no more hashes than CPUs, 64 calls waiting, each for at most two seconds.
var DefaultHashLimits = HashLimits{MaxMemoryKiB: 128 * 1024, MaxWaiting: 64, MaxWait: 2 * time.Second}

// HashStats is a Hasher's current load.
type HashStats struct {
	// InFlight is the number of hashes and verifications running.
	InFlight int64
	// Waiting is the number of calls waiting for memory.
	Waiting int64
	// Rejected counts the calls that failed with ErrBusy since the Hasher was made.
	Rejected uint64
}

// Hasher hashes and verifies passwords with argon2id under a memory budget, so that a burst
// of registrations or logins cannot take the process's memory (and every other request's
// latency) with it. It is safe for concurrent use.
type Hasher struct {
	params   PasswordParams
	limits   HashLimits
	sem      *semaphore.Weighted
	kdf      kdf
	waiting  atomic.Int64
	inFlight atomic.Int64
	rejected atomic.Uint64
}

// NewHasher returns a Hasher that hashes with p under limits. A zero MaxMemoryKiB means
// DefaultHashLimits.
func NewHasher(p PasswordParams, limits HashLimits) *Hasher {
	if limits.MaxMemoryKiB == 0 {
		limits = DefaultHashLimits
	}
	n := limits.MaxConcurrent
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if p.MemoryKiB > 0 {
		limits.MaxMemoryKiB = min(limits.MaxMemoryKiB, uint64(n)*uint64(p.MemoryKiB))
	}
	return &Hasher{params: p, limits: limits, sem: semaphore.NewWeighted(int64(limits.MaxMemoryKiB)), kdf: idKey}
}

// Params are the argon2id costs new hashes are made with.
func (h *Hasher) Params() PasswordParams { return h.params }

// Stats reports the Hasher's current load.
func (h *Hasher) Stats() HashStats {
	return HashStats{InFlight: h.inFlight.Load(), Waiting: h.waiting.Load(), Rejected: h.rejected.Load()}
}

// Hash returns the PHC-format argon2id hash of password (as HashPassword), once memory is
// free. It fails with ErrBusy when none frees up in time, and with ctx's error when ctx ends
// first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx, h.params.MemoryKiB)
	if err != nil {
		return "", err
	}
	defer release()
	return hashWith(h.kdf, password, h.params)
}

// Verify reports whether password matches encoded (as VerifyPassword), once memory is free.
// A hash that cannot be parsed never matches and costs no work. It fails with ErrBusy when no
// memory frees up in time, and with ctx's error when ctx ends first.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, nil
	}
	release, err := h.acquire(ctx, p.MemoryKiB)
	if err != nil {
		return false, err
	}
	defer release()
	return verifyWith(h.kdf, password, p, salt, key), nil
}

// acquire takes memKiB of the budget (all of it for a hash larger than the budget), waiting
// in line for at most MaxWait behind at most MaxWaiting others.
func (h *Hasher) acquire(ctx context.Context, memKiB uint32) (func(), error) {
	w := min(max(int64(memKiB), 1), int64(h.limits.MaxMemoryKiB))
	if !h.sem.TryAcquire(w) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if h.waiting.Add(1) > int64(h.limits.MaxWaiting) {
			h.waiting.Add(-1)
			h.rejected.Add(1)
			return nil, ErrBusy
		}
		wctx, cancel := context.WithTimeout(ctx, h.limits.MaxWait)
		err := h.sem.Acquire(wctx, w)
		cancel()
		h.waiting.Add(-1)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			h.rejected.Add(1)
			return nil, ErrBusy
		}
	}
	h.inFlight.Add(1)
	return func() {
		h.inFlight.Add(-1)
		h.sem.Release(w)
	}, nil
}

// UnusablePasswordHash is stored for accounts that cannot log in with a password (the admin
// account created by `sovereign up`, which authenticates with its API key).
const UnusablePasswordHash = "!"

func parseHash(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errMalformedHash
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > 1<<22 || p.Time == 0 || p.Time > 64 || p.Threads == 0 {
		return p, nil, nil, errMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, errMalformedHash
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}
