// Package policy makes every authorization decision of the stack through one call, Decide.
//
// Callers describe who is asking (Subject), what they want to do (Action) and to what
// (Resource); the engine answers allow or deny with a reason. Default deny: an action without
// a rule is denied. Handlers never compare roles themselves.
//
// # Policies
//
// The rules are Rego (OPA 1.x syntax) in rego/*.rego, embedded in the binary:
//
//   - authz.rego, package sovereign.authz: `rules`, an object of action → rule (owner, scope,
//     session_only, subjects, min_tier, min_stake; a new action is one line), and `decision`
//     ({"allow", "reason"}), `allow` (default false) and `reason` derived from it.
//   - tiers.rego, package sovereign.tiers: the reputation tiers (Untrusted < 100 ≤ New < 400 ≤
//     Trusted < 700 ≤ Verified < 900 ≤ Elite) for the rules that need one (min_tier). A
//     subject's tier comes from subject.reputation, else subject.tier, else "New". Transfer
//     amounts are not decided here: the ledger checks them against its tier table (per
//     transfer and over a rolling 24 hours) in the step that applies them; the policy decides
//     who may transfer. Stakes are decimal strings compared as exact integers of 10^-18 AVT.
//   - *_test.rego: Rego unit tests, run by RunTests (OPA's tester), by TestRegoUnitTests in
//     `go test`, and by `sovereign policy test`.
//
// # Engine
//
// New compiles the embedded policies once per process and prepares the query
// data.sovereign.authz.decision (rego.PrepareForEval); each Decide is one evaluation of it.
// A policy directory that defines only allow and reason is read through a small wrapper
// module instead. NewWithOptions adds:
//
//   - WithDir: policies from a directory (every *.rego below it, tests excepted), checked for
//     changes every second (a digest of the files' contents: editors' atomic renames and
//     Kubernetes ConfigMap symlink swaps count, mtime granularity does not matter) and swapped
//     in atomically. A change that does not compile, or that leaves no
//     data.sovereign.authz.allow rule, keeps the last good policy: the error is logged once and
//     returned by LastError until a later change loads. Reload forces a check.
//   - WithDecisionLog: one JSON line per decision in OPA's decision-log event format
//     (decision_id, labels, revision and bundles, path, input, result, masked, timestamp,
//     metrics), with input.subject.credential_id and every field named token, password, secret
//     or api_key (or ending in _token, _password, _secret) replaced by "**REDACTED**".
//   - WithDecisionCache: how many decisions to remember (default 8192, 0 for none).
//
// SetModules adds modules at run time on top of whichever source is loaded (a module replaces the
// source's file of the same name, or adds one), atomically like a reload; governance puts the
// modules of passed proposals in force with it in every replica. CheckModule compiles a module
// with the policy and runs the unit tests submitted with it, before it is proposed.
//
// # Decision cache
//
// Evaluating the prepared query costs tens of microseconds; most decisions repeat (the same
// caller, action and resource). When a compiled policy provably depends on nothing but the
// input less context.time and context.request_id (no rule reads those, the whole input or
// input.context, and no rule calls a non-deterministic built-in such as time.now_ns or
// http.send), decisions are remembered by that part of the input. A reload starts an empty
// cache, so a remembered decision is always the one the policy in force would make. Every
// decision still gets its own ID and decision-log line.
//
// # Input
//
// The input document is exactly encoding/json's encoding of Input (omitempty fields absent),
// built directly as an OPA value: that is faster than handing OPA a struct or a map, and
// `sovereign policy eval --input file.json` sees what services send. Note that Reputation 0
// is absent: a caller with a real score of 0 sends Tier "Untrusted".
package policy
