# Authorization for every service of the Sovereign Stack.
#
# Engine.Decide(ctx, "sovereign.authz.allow", input) evaluates `decision` ({"allow": bool,
# "reason": string}, and a denial may carry "code": an upper-snake error code more precise than
# FORBIDDEN) in one pass; `allow` and `reason` are the same answer as separate rules.
# Default deny: an action without an entry in `rules` is denied, and so is anything no rule
# grants. A denial always carries a reason safe to show the caller.
#
# input: {
#   "subject":  {"kind", "id", "spiffe_id", "did", "roles", "auth_method", "scopes", "verified",
#                "tier", "reputation", "stake", "credential_id"},
#   "action":   "developer.read",
#   "resource": {"kind", "id", "owner", "counterparty", "suspended_by"},
#   "context":  {"time", "request_id", "amount"},
# }
#
# The checks run in this order; the first that fails is the reason:
#   1. the action has a rule                      "no rule allows A"
#   (a public rule allows everyone here, authenticated or not)
#   2. the subject is authenticated               "authentication required"
#   3. session_only: a login session was used     "A requires a login session, not an API key"
#   4. an API key carries the rule's scope        "API key lacks the S scope"
#   5. verified: the subject's email is verified  "A requires a verified email address"
#   6. subjects: kind, tier, stake                (see subjects_denial)
#   6b. registry_ids: the SPIFFE ID names a registry (code PEER_NOT_A_REGISTRY)
#   7. lifts_suspension: the owner or an admin     (see suspension_denial; code
#      ranks at least whoever suspended            AGENT_SUSPENDED_BY_<AUTHORITY>)
# and then one grant must hold: the resource's owner (owner) or counterparty (counterparty), an
# admin, a service of the rule's kinds (services), or a subject of the rule's kinds (subjects) —
# else "not permitted to A". Admins are bound by checks 1–6 too.
#
# Beware: OPA evaluates the arguments of a call before `not`, so `not x in y` or `not x > 0`
# is false, not true, when x or y is undefined. Negate only plain refs and ==, or helper
# rules, or give the argument a default (object.get).
#
# Performance: `decision` is a single rule whose branches read input directly, so the common
# request (a developer on their own account) costs about eight expressions. Keep it that way:
# put new conditions behind a field of `rules`, and slow checks (tiers) in helper rules that
# only tiered actions reach.
package sovereign.authz

import data.sovereign.tiers

# rules says who may take each action; a new action is one line. Fields (all optional):
#   owner         the resource's owner (input.resource.owner == input.subject.id) may
#   scope         an API key must carry this scope
#   session_only  needs a login session (credential management is not open to API keys)
#   verified      needs a subject whose email address is verified
#   counterparty  the resource's other party (input.resource.counterparty, e.g. the payee of a
#                 pending transfer: it posts the hold when its paid task completes) may
#   services      open to services of these kinds: a subject of kind "service" whose id is its
#                 SPIFFE ID spiffe://<td>/<kind>/<name> (registry/<name>), authenticated by an
#                 X.509- or JWT-SVID — the registry opening wallets and granting over mTLS
#   public        open to everyone, authenticated or not (public reads the operator may want to
#                 restrict: replacing the rule does it)
#   subjects      open to subjects of these kinds (and only these kinds, admins included),
#                 provided they meet the rule's conditions:
#   min_tier        reputation tier at least this (tiers.rego)
#   min_stake       stake (input.subject.stake, AVT) at least this
#   admin_only    only admins may; anyone else is denied with code ADMIN_REQUIRED
#   registry_ids  the subject's SPIFFE ID must name a registry (spiffe://<td>/registry/<name>,
#                 authenticated by an X.509-SVID): a peer registry presenting an SVID of its
#                 trust domain with any other ID is denied with code PEER_NOT_A_REGISTRY
#   lifts_suspension  the action lifts a suspension (reactivates an agent): the subject's
#                 authority over the resource (authority_rank) must be at least that of whoever
#                 suspended it (input.resource.suspended_by; missing counts as "admin")
# (Amounts are not decided here: the ledger checks every transfer against the sender's tier
# limits — per transfer and over a rolling 24 hours — in the step that applies it. Keep rules
# free of input.context.amount, so the decision cache serves every amount with one entry.)
rules := {
	"developer.read": {"owner": true, "scope": "read"},
	"developer.update": {"owner": true, "scope": "write"},
	"developer.list": {},
	"developer.suspend": {"scope": "write", "admin_only": true},
	"developer.api_key.create": {"owner": true, "session_only": true},
	"developer.api_key.list": {"owner": true, "scope": "read"},
	"developer.api_key.revoke": {"owner": true, "scope": "write"},
	"developer.recovery_keys.rotate": {"owner": true, "session_only": true},
	"developer.sessions.revoke": {"owner": true, "session_only": true},
	"token.transfer": {"subjects": ["agent"]},
	"token.pending.settle": {"owner": true, "counterparty": true, "scope": "write"},
	"token.balance.read": {"owner": true, "scope": "read", "services": ["registry"]},
	"token.history.read": {"owner": true, "scope": "read", "services": ["registry"]},
	"token.mint": {"scope": "write"},
	"token.burn": {"scope": "write"},
	"token.grant": {"scope": "write", "services": ["registry"]},
	"teg.account.create": {"scope": "write", "services": ["registry"]},
	"teg.account.status": {"scope": "write", "services": ["registry"]},
	"teg.params.set": {"scope": "write"},
	"staking.write": {"owner": true, "scope": "write"},
	"staking.read": {"owner": true, "scope": "read", "services": ["registry"]},
	"staking.slash": {"scope": "write"},
	"token.pending.read": {"owner": true, "counterparty": true, "scope": "read"},
	"dispute.file": {"subjects": ["agent"], "min_tier": "New"},
	"governance.propose": {"subjects": ["agent"], "min_tier": "Trusted", "min_stake": 1000},
	"dispute.arbitrate": {"subjects": ["agent"], "min_tier": "Verified", "min_stake": 1000},
	"dispute.act": {"owner": true, "scope": "write"},
	"dispute.read": {"owner": true, "scope": "read", "services": ["registry"]},
	"dispute.reject": {"scope": "write"},
	"identity.svid.renew": {"subjects": ["agent"]},
	"agent_card.create": {"subjects": ["developer"], "scope": "write", "verified": true},
	"agent_card.update": {"owner": true, "scope": "write"},
	"agent_card.delete": {"owner": true, "scope": "write"},
	"template.create": {"subjects": ["developer"], "scope": "write"},
	"template.update": {"owner": true, "scope": "write"},
	"template.delete": {"owner": true, "scope": "write"},
	"onboard.token.create": {"subjects": ["developer"], "scope": "write", "verified": true},
	"onboard.token.list": {"owner": true, "scope": "read"},
	"onboard.token.revoke": {"owner": true, "scope": "write"},
	"agent.update": {"owner": true, "scope": "write"},
	"agent.list": {"subjects": ["developer"], "scope": "read"},
	"agent.read": {"owner": true, "scope": "read"},
	"agent.balance.read": {"owner": true, "scope": "read"},
	"agent.reactivate": {"owner": true, "scope": "write", "lifts_suspension": true},
	"reputation.rate": {"subjects": ["agent"], "scope": "write"},
	"reputation.read": {"public": true},
	"reputation.recompute": {"scope": "write"},
	"governance.vote": {"subjects": ["agent"], "scope": "write"},
	"governance.execute": {"subjects": ["agent", "developer"], "scope": "write"},
	"governance.read": {"public": true},
	"attestation.submit": {"owner": true, "scope": "write"},
	"attestation.uptime": {"owner": true, "scope": "write"},
	"attestation.read": {"public": true},
	"auditor.flag.read": {"scope": "read", "admin_only": true},
	"auditor.flag.ack": {"scope": "write", "admin_only": true},
	"auditor.flag.resolve": {"scope": "write", "admin_only": true},
	"auditor.flag.escalate": {"scope": "write", "admin_only": true},
	"auditor.rules.read": {"scope": "read", "admin_only": true},
	"auditor.rules.write": {"scope": "write", "admin_only": true},
	"federation.peer.propose": {"subjects": ["developer"], "scope": "write", "verified": true},
	"federation.peer.read": {"subjects": ["developer"], "scope": "read"},
	"federation.peer.manage": {"scope": "write", "admin_only": true},
	"federation.query": {"subjects": ["peer_registry"], "registry_ids": true},
	"policy.decisions.read": {"scope": "read", "admin_only": true},
	"federation.sync": {"subjects": ["peer_registry"], "registry_ids": true},
}

# authority_rank orders the authorities over an agent: a suspension placed by one is lifted by
# it or a higher one (an owner cannot undo an admin's suspension; an admin can undo anyone's).
authority_rank := {"owner": 1, "admin": 2}

default allow := false

allow := decision.allow

reason := decision.reason

decision := {"allow": false, "reason": sprintf("no rule allows %s", [input.action])} if {
	not rules[input.action]
} else := {"allow": true} if {
	rules[input.action].public
} else := {"allow": false, "reason": "authentication required"} if {
	input.subject.kind == "anonymous"
} else := {"allow": false, "reason": "authentication required"} if {
	not input.subject.id
} else := {"allow": false, "reason": "authentication required"} if {
	input.subject.id == ""
} else := {"allow": false, "reason": sprintf("%s requires a login session, not an API key", [input.action])} if {
	rules[input.action].session_only
	not input.subject.auth_method == "session"
} else := {"allow": false, "reason": sprintf("API key lacks the %s scope", [scope])} if {
	input.subject.auth_method == "api_key"
	scope := rules[input.action].scope
	not scope in object.get(input.subject, "scopes", [])
} else := {"allow": false, "reason": sprintf("%s requires a verified email address", [input.action])} if {
	rules[input.action].verified
	not input.subject.verified == true
} else := {"allow": false, "reason": subjects_denial} if {
	rules[input.action].subjects
	subjects_denial
} else := {"allow": false, "reason": sprintf("%s is open to registry SPIFFE IDs (spiffe://<trust domain>/registry/<name>) only", [input.action]), "code": "PEER_NOT_A_REGISTRY"} if {
	rules[input.action].registry_ids
	not service_kind == "registry"
} else := {"allow": false, "reason": suspension_denial, "code": sprintf("AGENT_SUSPENDED_BY_%s", [upper(suspension_holder)])} if {
	rules[input.action].lifts_suspension
	suspension_denial
} else := {"allow": true} if {
	rules[input.action].owner
	input.resource.owner == input.subject.id
} else := {"allow": true} if {
	rules[input.action].counterparty
	input.resource.counterparty == input.subject.id
} else := {"allow": true} if {
	"admin" in input.subject.roles
} else := {"allow": true} if {
	input.subject.kind == "service"
	service_kind in rules[input.action].services
} else := {"allow": true} if {
	rules[input.action].subjects
} else := {"allow": false, "reason": sprintf("%s requires the admin role", [input.action]), "code": "ADMIN_REQUIRED"} if {
	rules[input.action].admin_only
} else := {"allow": false, "reason": sprintf("not permitted to %s", [input.action])}

# service_kind is the kind of a service subject's SPIFFE ID spiffe://<td>/<kind>/<name> (the
# subject's id is that ID, and it was authenticated by an SVID). Undefined for anything else.
service_kind := parts[1] if {
	input.subject.auth_method in {"x509_svid", "jwt_svid"}
	input.subject.id == input.subject.spiffe_id
	startswith(input.subject.spiffe_id, "spiffe://")
	parts := split(substring(input.subject.spiffe_id, 9, -1), "/")
	count(parts) == 3
	parts[0] != ""
	parts[2] != ""
}

# subjects_denial is why the subject does not meet a `subjects` rule: its kind, tier or stake.
# Undefined when it does.
subjects_denial := sprintf("%s is open to %s subjects only", [input.action, concat(", ", rule.subjects)]) if {
	not object.get(input.subject, "kind", "") in rule.subjects
} else := sprintf("%s requires the %s tier or above; the subject is %s", [input.action, rule.min_tier, tiers.subject_tier]) if {
	rule.min_tier
	not tiers.at_least(tiers.subject_tier, rule.min_tier)
} else := sprintf("%s requires a stake of at least %v AVT", [input.action, rule.min_stake]) if {
	rule.min_stake
	not tiers.stake_at_least(rule.min_stake)
}

rule := rules[input.action]

# subject_authority is the subject's authority over the resource for lifts_suspension rules:
# "admin" for an admin, "owner" for the resource's owner; undefined for anyone else (who then
# falls through to "not permitted").
subject_authority := "admin" if {
	"admin" in input.subject.roles
} else := "owner" if {
	input.resource.owner == input.subject.id
}

# suspension_holder is the authority that suspended the resource; none recorded counts as the
# highest, so an unknown suspension is never lifted by a lesser one.
suspension_holder := object.get(input.resource, "suspended_by", "admin")

# suspension_denial is why the subject may not lift the suspension: its authority ranks below
# the holder's (an unknown holder ranks above everyone). Undefined when it may, or when the
# subject has no authority over the resource at all.
suspension_denial := sprintf("the agent was suspended by %s: only that authority or a higher one can reactivate it", [holder_name]) if {
	subject_authority
	not may_lift_suspension
}

may_lift_suspension if authority_rank[subject_authority] >= authority_rank[suspension_holder]

holder_name := "its owner" if suspension_holder == "owner"

else := "an admin" if suspension_holder == "admin"

else := sprintf("%q", [suspension_holder])
