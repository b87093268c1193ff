package policy

import (
	"encoding/binary"
	"hash/maphash"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// DefaultDecisionCacheSize is how many decisions an engine remembers (see WithDecisionCache).
const DefaultDecisionCacheSize = 8192

// decisionCache remembers decisions of one compiled policy by their input, less the fields
// that differ on every request (context.time, context.request_id). It exists only for a
// policy that cannot see those fields and calls no non-deterministic built-in (cacheable), so
// a remembered decision is exactly what evaluating again would answer. A reload brings a new
// policy and with it an empty cache.
type decisionCache struct {
	seed   maphash.Seed
	perMap int
	shards [16]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cachedDecision
}

type cachedDecision struct {
	allow  bool
	reason string
	code   string
}

func newDecisionCache(size int) *decisionCache {
	if size <= 0 {
		return nil
	}
	c := &decisionCache{seed: maphash.MakeSeed(), perMap: max(1, size/16)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cachedDecision)
	}
	return c
}

func (c *decisionCache) shard(key []byte) *cacheShard {
	return &c.shards[maphash.Bytes(c.seed, key)%uint64(len(c.shards))]
}

func (c *decisionCache) get(key []byte) (cachedDecision, bool) {
	s := c.shard(key)
	s.mu.RLock()
	d, ok := s.m[string(key)]
	s.mu.RUnlock()
	return d, ok
}

func (c *decisionCache) put(key []byte, d cachedDecision) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perMap {
		for k := range s.m { // full: forget an arbitrary entry
			delete(s.m, k)
			break
		}
	}
	s.m[string(key)] = d
}

// appendKey appends the cache key of in: every input field a cacheable policy can read, each
// length-prefixed so no two inputs share a key. amount says whether the policy reads
// context.amount: when none of its rules does, decisions that differ only in the amount are one.
func appendKey(b []byte, in *Input, amount bool) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	strs := func(ss []string) {
		b = binary.AppendUvarint(b, uint64(len(ss)))
		for _, s := range ss {
			str(s)
		}
	}
	s := &in.Subject
	str(in.Action)
	str(s.Kind)
	str(s.ID)
	str(s.SPIFFEID)
	str(s.DID)
	strs(s.Roles)
	str(s.AuthMethod)
	strs(s.Scopes)
	if s.Verified {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	str(s.Tier)
	b = binary.AppendVarint(b, int64(s.Reputation))
	str(s.Stake)
	str(s.CredentialID)
	str(in.Resource.Kind)
	str(in.Resource.ID)
	str(in.Resource.Owner)
	str(in.Resource.Counterparty)
	str(in.Resource.SuspendedBy)
	if amount {
		str(in.Context.Amount)
	}
	return b
}

// volatileContext are the input.context fields left out of the cache key.
var volatileContext = map[string]bool{"time": true, "request_id": true}

// cacheable reports whether decisions of the compiled modules depend only on the cache key:
// no rule reads input.context.time or input.context.request_id, or a part of input that holds
// them (input, input.context, input[x], input.context[x]), and none calls a non-deterministic
// built-in (time.now_ns, http.send, rand.intn, …).
func cacheable(c *ast.Compiler) bool {
	ok := true
	for _, m := range c.Modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if !ok {
				return true
			}
			if r.HasPrefix(ast.InputRootRef) && !safeInputRef(r) {
				ok = false
			}
			if b, found := ast.BuiltinMap[r.String()]; found && b.Nondeterministic {
				ok = false
			}
			return false
		})
		if !ok {
			return false
		}
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if !ok {
				return true
			}
			if t, isCall := x.Terms.([]*ast.Term); isCall && len(t) > 0 {
				if r, isRef := t[0].Value.(ast.Ref); isRef {
					if b, found := ast.BuiltinMap[r.String()]; found && b.Nondeterministic {
						ok = false
					}
				}
			}
			return false
		})
	}
	return ok
}

// readsContext reports whether a rule of the compiled modules may read input.context.<field>:
// through that ref, or through input, input.context or a computed key of either.
func readsContext(c *ast.Compiler, field string) bool {
	reads := false
	for _, m := range c.Modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if reads || !r.HasPrefix(ast.InputRootRef) {
				return reads
			}
			if len(r) < 3 {
				reads = len(r) == 1 || !isString(r[1], "") || isString(r[1], "context")
				return reads
			}
			if !isString(r[1], "context") {
				reads = !isString(r[1], "")
				return reads
			}
			reads = !isString(r[2], "") || isString(r[2], field)
			return reads
		})
	}
	return reads
}

// isString reports whether t is a string; with want non-empty, that string.
func isString(t *ast.Term, want string) bool {
	s, ok := t.Value.(ast.String)
	return ok && (want == "" || string(s) == want)
}

// safeInputRef reports whether r reads only cache-key fields of input.
func safeInputRef(r ast.Ref) bool {
	if len(r) < 2 {
		return false
	}
	first, isStr := r[1].Value.(ast.String)
	if !isStr {
		return false
	}
	if first != "context" {
		return true
	}
	if len(r) < 3 {
		return false
	}
	second, isStr := r[2].Value.(ast.String)
	return isStr && !volatileContext[string(second)]
}
