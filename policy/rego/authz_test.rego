package sovereign.authz_test

import data.sovereign.authz

dev := {"kind": "developer", "id": "dev_a", "roles": ["developer"], "auth_method": "session", "verified": true}

admin_key := {"kind": "developer", "id": "dev_admin", "roles": ["developer", "admin"], "auth_method": "api_key", "scopes": ["read", "write"], "verified": true}

admin_session := {"kind": "developer", "id": "dev_admin", "roles": ["developer", "admin"], "auth_method": "session", "verified": true}

ro_key := object.union(dev, {"auth_method": "api_key", "scopes": ["read"]})

rw_key := object.union(dev, {"auth_method": "api_key", "scopes": ["read", "write"]})

own := {"kind": "developer", "id": "dev_a", "owner": "dev_a"}

other := {"kind": "developer", "id": "dev_b", "owner": "dev_b"}

agent(tier_fields) := object.union({"kind": "agent", "id": "agt_1", "auth_method": "jwt_svid", "verified": false}, tier_fields)

ask(subject, action, resource) := {"subject": subject, "action": action, "resource": resource, "context": {"time": "2026-01-01T00:00:00Z"}}

transfer(subject, amount, daily_total) := {
	"subject": subject,
	"action": "token.transfer",
	"resource": {"kind": "wallet", "id": object.get(subject, "id", ""), "owner": object.get(subject, "id", "")},
	"context": object.union({"amount": amount}, daily_total),
}

allowed(q) if {
	authz.allow with input as q
	authz.decision == {"allow": true} with input as q
	not authz.reason with input as q
}

denied(q, reason) if {
	not authz.allow with input as q
	authz.reason == reason with input as q
	authz.decision == {"allow": false, "reason": reason} with input as q
}

# --- the developer-account rules (the Go table this policy replaced) ---

owner_actions := [
	"developer.read", "developer.update", "developer.api_key.create", "developer.api_key.list",
	"developer.api_key.revoke", "developer.recovery_keys.rotate", "developer.sessions.revoke",
]

test_owner_with_session_may_take_every_owner_action if {
	every action in owner_actions {
		allowed(ask(dev, action, own))
	}
}

test_owner_may_not_act_on_another_account if {
	every action in owner_actions {
		denied(ask(dev, action, other), sprintf("not permitted to %s", [action]))
	}
}

test_resource_without_owner_grants_nobody if {
	denied(ask(dev, "developer.read", {"kind": "developer", "id": "dev_a"}), "not permitted to developer.read")
	denied(ask(object.union(dev, {"id": ""}), "developer.read", {"kind": "developer", "owner": ""}), "authentication required")
}

test_developer_list_is_admin_only if {
	denied(ask(dev, "developer.list", {"kind": "developer"}), "not permitted to developer.list")
	allowed(ask(admin_key, "developer.list", {"kind": "developer"}))
	allowed(ask(admin_session, "developer.list", {"kind": "developer"}))
}

test_admin_may_act_on_any_account if {
	allowed(ask(admin_key, "developer.read", other))
	allowed(ask(admin_key, "developer.update", other))
	allowed(ask(admin_key, "developer.api_key.revoke", other))
	allowed(ask(admin_session, "developer.api_key.create", other))
}

test_anonymous_is_asked_to_authenticate if {
	denied(ask({"kind": "anonymous", "verified": false}, "developer.read", own), "authentication required")
	denied(ask({"kind": "anonymous", "id": "dev_a", "verified": false}, "developer.read", own), "authentication required")
	denied(ask({"kind": "developer", "verified": false}, "developer.read", own), "authentication required")
	denied(ask({"kind": "developer", "id": "", "verified": false}, "developer.read", own), "authentication required")
	denied(ask({"id": "dev_a", "verified": false}, "developer.list", own), "not permitted to developer.list")
}

test_read_only_key_reads_but_does_not_write if {
	allowed(ask(ro_key, "developer.read", own))
	allowed(ask(ro_key, "developer.api_key.list", own))
	denied(ask(ro_key, "developer.update", own), "API key lacks the write scope")
	denied(ask(ro_key, "developer.api_key.revoke", own), "API key lacks the write scope")
}

test_key_without_scopes_has_none if {
	denied(ask(object.remove(ro_key, ["scopes"]), "developer.read", own), "API key lacks the read scope")
}

test_read_write_key_writes if {
	allowed(ask(rw_key, "developer.update", own))
	allowed(ask(rw_key, "developer.api_key.revoke", own))
}

test_unscoped_action_needs_no_scope if {
	allowed(ask(object.union(admin_key, {"scopes": []}), "developer.list", {"kind": "developer"}))
}

test_credential_management_needs_a_session if {
	every action in ["developer.api_key.create", "developer.recovery_keys.rotate", "developer.sessions.revoke"] {
		denied(ask(rw_key, action, own), sprintf("%s requires a login session, not an API key", [action]))
		denied(ask(admin_key, action, {"owner": "dev_admin"}), sprintf("%s requires a login session, not an API key", [action]))
		denied(ask(object.remove(dev, ["auth_method"]), action, own), sprintf("%s requires a login session, not an API key", [action]))
	}
}

test_unknown_action_is_denied_by_default if {
	denied(ask(admin_session, "teg.mint", own), "no rule allows teg.mint")
	denied(ask(dev, "", own), "no rule allows ")
}

test_every_action_has_a_decision if {
	every action, _ in authz.rules {
		is_boolean(authz.decision.allow) with input as ask(dev, action, own)
	}
}

test_denials_always_have_a_reason if {
	every action, _ in authz.rules {
		every subject in [dev, ro_key, admin_key, {"kind": "anonymous"}, agent({})] {
			reason_when_denied(ask(subject, action, other))
		}
	}
}

reason_when_denied(q) if authz.allow with input as q

reason_when_denied(q) if {
	not authz.allow with input as q
	count(authz.reason) > 0 with input as q
}

test_no_rule_mixes_owner_and_subjects_grants if {
	# a subjects rule grants by kind, an owner rule by ownership: one rule doing both would be
	# ambiguous about which conditions apply
	every _, r in authz.rules {
		not mixes_grants(r)
	}
}

mixes_grants(r) if {
	r.subjects
	r.owner
}

# --- agents and tiers (DESIGN §8.3) ---

test_transfer_is_decided_without_the_amount if {
	# the ledger checks amounts against the tier limits; the policy decides who may transfer
	allowed(transfer(agent({"reputation": 150}), "100", {}))
	allowed(transfer(agent({"reputation": 50}), "5000000", {}))
	allowed(transfer(agent({}), "0", {}))
	allowed(object.remove(transfer(agent({}), "1", {}), ["context"]))
}

test_transfer_is_for_agents_only if {
	denied(transfer(dev, "1", {}), "token.transfer is open to agent subjects only")
	denied(transfer(admin_session, "1", {}), "token.transfer is open to agent subjects only")
	denied(transfer({"kind": "anonymous"}, "1", {}), "authentication required")
	denied(transfer({"id": "agt_1"}, "1", {}), "token.transfer is open to agent subjects only")
}

test_dispute_filing_from_new if {
	denied(ask(agent({"reputation": 99}), "dispute.file", {"kind": "dispute"}), "dispute.file requires the New tier or above; the subject is Untrusted")
	allowed(ask(agent({"reputation": 100}), "dispute.file", {"kind": "dispute"}))
	allowed(ask(agent({}), "dispute.file", {"kind": "dispute"}))
	denied(ask(dev, "dispute.file", {"kind": "dispute"}), "dispute.file is open to agent subjects only")
}

test_proposals_from_trusted_with_stake if {
	denied(ask(agent({"reputation": 399, "stake": "5000"}), "governance.propose", {"kind": "proposal"}), "governance.propose requires the Trusted tier or above; the subject is New")
	denied(ask(agent({"reputation": 400}), "governance.propose", {"kind": "proposal"}), "governance.propose requires a stake of at least 1000 AVT")
	denied(ask(agent({"reputation": 400, "stake": "999.999"}), "governance.propose", {"kind": "proposal"}), "governance.propose requires a stake of at least 1000 AVT")
	allowed(ask(agent({"reputation": 400, "stake": "1000"}), "governance.propose", {"kind": "proposal"}))
	allowed(ask(agent({"reputation": 950, "stake": "25000.5"}), "governance.propose", {"kind": "proposal"}))
}

test_arbitration_from_verified_validators if {
	denied(ask(agent({"reputation": 699, "stake": "5000"}), "dispute.arbitrate", {"kind": "dispute"}), "dispute.arbitrate requires the Verified tier or above; the subject is Trusted")
	denied(ask(agent({"reputation": 700, "stake": "999"}), "dispute.arbitrate", {"kind": "dispute"}), "dispute.arbitrate requires a stake of at least 1000 AVT")
	denied(ask(agent({"reputation": 700, "stake": "-1000"}), "dispute.arbitrate", {"kind": "dispute"}), "dispute.arbitrate requires a stake of at least 1000 AVT")
	allowed(ask(agent({"reputation": 700, "stake": "1000"}), "dispute.arbitrate", {"kind": "dispute"}))
	denied(ask(admin_session, "dispute.arbitrate", {"kind": "dispute"}), "dispute.arbitrate is open to agent subjects only")
}

test_stake_minimums_follow_the_tier_parameters if {
	authz.rules["governance.propose"].min_stake == data.sovereign.tiers.proposal_min_stake
	authz.rules["dispute.arbitrate"].min_stake == data.sovereign.tiers.validator_min_stake
}

wallet(owner) := {"kind": "wallet", "id": owner, "owner": owner}

test_wallet_owner_reads_own_balance_and_history if {
	allowed(ask(agent({}), "token.balance.read", wallet("agt_1")))
	allowed(ask(agent({}), "token.history.read", wallet("agt_1")))
	not allowed(ask(agent({}), "token.balance.read", wallet("agt_2")))
}

test_admin_reads_any_wallet if {
	allowed(ask(admin_key, "token.balance.read", wallet("agt_2")))
	allowed(ask(admin_key, "token.history.read", wallet("agt_2")))
}

test_treasury_operations_are_admin_only if {
	every action in ["token.mint", "token.burn", "token.grant", "teg.account.create"] {
		allowed(ask(admin_key, action, {"kind": "treasury"}))
		not allowed(ask(dev, action, {"kind": "treasury"}))
		not allowed(ask(agent({}), action, {"kind": "treasury"}))
	}
}

test_parameter_changes_are_admin_only if {
	allowed(ask(admin_key, "teg.params.set", {"kind": "params"}))
	not allowed(ask(object.union(admin_key, {"scopes": ["read"]}), "teg.params.set", {"kind": "params"}))
	not allowed(ask(dev, "teg.params.set", {"kind": "params"}))
	not allowed(ask(agent({}), "teg.params.set", {"kind": "params"}))
	denied(ask(registry_svc, "teg.params.set", {"kind": "params"}), "not permitted to teg.params.set")
}

test_read_only_admin_key_cannot_mint if {
	not allowed(ask(object.union(admin_key, {"scopes": ["read"]}), "token.mint", {"kind": "treasury"}))
}

test_the_payer_and_admins_settle_a_pending_transfer_others_do_not if {
	allowed(ask(agent({}), "token.pending.settle", wallet("agt_1")))
	not allowed(ask(agent({}), "token.pending.settle", wallet("agt_2")))
	allowed(ask(admin_key, "token.pending.settle", wallet("agt_2")))
}

# --- identity (DESIGN §4) ---

test_agents_renew_their_svid if {
	allowed(ask(agent({}), "identity.svid.renew", {"kind": "svid", "id": "spiffe://sovereign.test/agent/agt_1"}))
	allowed(ask(agent({"reputation": 1}), "identity.svid.renew", {"kind": "svid"}))
}

test_only_agents_renew_an_svid if {
	denied(ask(dev, "identity.svid.renew", {"kind": "svid"}), "identity.svid.renew is open to agent subjects only")
	denied(ask(admin_key, "identity.svid.renew", {"kind": "svid"}), "identity.svid.renew is open to agent subjects only")
	denied(ask({"kind": "service", "id": "spiffe://sovereign.test/teg"}, "identity.svid.renew", {"kind": "svid"}), "identity.svid.renew is open to agent subjects only")
	denied(ask({"kind": "anonymous"}, "identity.svid.renew", {"kind": "svid"}), "authentication required")
}

# --- agent cards and templates ---

test_verified_developer_may_publish_a_card if {
	allowed(ask(dev, "agent_card.create", {"kind": "agent_card"}))
	allowed(ask(rw_key, "agent_card.create", {"kind": "agent_card"}))
	allowed(ask(admin_key, "agent_card.create", {"kind": "agent_card"}))
}

test_unverified_developer_may_not_publish_a_card if {
	denied(ask(object.union(dev, {"verified": false}), "agent_card.create", {"kind": "agent_card"}), "agent_card.create requires a verified email address")
	denied(ask(object.remove(dev, ["verified"]), "agent_card.create", {"kind": "agent_card"}), "agent_card.create requires a verified email address")
}

test_card_publishing_needs_write_scope_and_a_developer if {
	denied(ask(ro_key, "agent_card.create", {"kind": "agent_card"}), "API key lacks the write scope")
	denied(ask(object.union(agent({}), {"verified": true}), "agent_card.create", {"kind": "agent_card"}), "agent_card.create is open to developer subjects only")
}

test_card_and_template_writes_are_owner_or_admin if {
	every action in ["agent_card.update", "agent_card.delete", "template.update", "template.delete"] {
		allowed(ask(dev, action, {"kind": "agent_card", "id": "agt_1", "owner": "dev_a"}))
		denied(ask(dev, action, {"kind": "agent_card", "id": "agt_1", "owner": "dev_b"}), sprintf("not permitted to %s", [action]))
		allowed(ask(admin_key, action, {"kind": "agent_card", "id": "agt_1", "owner": "dev_b"}))
		denied(ask(ro_key, action, {"kind": "agent_card", "id": "agt_1", "owner": "dev_a"}), "API key lacks the write scope")
	}
}

test_any_developer_may_create_a_template if {
	allowed(ask(object.union(dev, {"verified": false}), "template.create", {"kind": "template"}))
	denied(ask(ro_key, "template.create", {"kind": "template"}), "API key lacks the write scope")
}

# --- services (split mode, DESIGN §2): the registry calls the TEG with its X.509-SVID ---

registry_svc := {"kind": "service", "id": "spiffe://sovereign.test/registry/main", "spiffe_id": "spiffe://sovereign.test/registry/main", "auth_method": "x509_svid", "verified": false}

test_registry_service_opens_wallets_grants_and_reads_balances if {
	allowed(ask(registry_svc, "teg.account.create", {"kind": "wallet", "id": "agt_1"}))
	allowed(ask(registry_svc, "token.grant", {"kind": "treasury", "id": "sys:treasury"}))
	allowed(ask(registry_svc, "token.balance.read", wallet("agt_1")))
	allowed(ask(registry_svc, "token.history.read", wallet("agt_1")))
	allowed(ask(object.union(registry_svc, {"auth_method": "jwt_svid"}), "token.grant", {"kind": "treasury"}))
}

test_registry_service_may_not_mint_burn_or_move_agents_money if {
	denied(ask(registry_svc, "token.mint", {"kind": "treasury"}), "not permitted to token.mint")
	denied(ask(registry_svc, "token.burn", {"kind": "treasury"}), "not permitted to token.burn")
	denied(ask(registry_svc, "token.pending.settle", wallet("agt_1")), "not permitted to token.pending.settle")
	not allowed(transfer(registry_svc, "1", {}))
}

test_other_services_are_not_the_registry if {
	every svc in [
		object.union(registry_svc, {"id": "spiffe://sovereign.test/teg", "spiffe_id": "spiffe://sovereign.test/teg"}),
		object.union(registry_svc, {"id": "spiffe://sovereign.test/portal", "spiffe_id": "spiffe://sovereign.test/portal"}),
		object.union(registry_svc, {"id": "spiffe://sovereign.test/registry/a/b", "spiffe_id": "spiffe://sovereign.test/registry/a/b"}),
		object.union(registry_svc, {"id": "spiffe://sovereign.test/registry/", "spiffe_id": "spiffe://sovereign.test/registry/"}),
		object.union(registry_svc, {"id": "spiffe://sovereign.test/agent/agt_1", "spiffe_id": "spiffe://sovereign.test/agent/agt_1"}),
	] {
		denied(ask(svc, "token.grant", {"kind": "treasury"}), "not permitted to token.grant")
	}
}

test_registry_id_needs_an_svid_and_the_service_kind if {
	# a developer or API key cannot claim a registry id
	denied(ask(object.union(registry_svc, {"auth_method": "api_key", "scopes": ["write"]}), "token.grant", {"kind": "treasury"}), "not permitted to token.grant")
	denied(ask(object.union(registry_svc, {"kind": "developer"}), "token.grant", {"kind": "treasury"}), "not permitted to token.grant")
	denied(ask(object.union(registry_svc, {"kind": "agent"}), "token.grant", {"kind": "treasury"}), "not permitted to token.grant")
	# id and spiffe_id must agree
	denied(ask(object.union(registry_svc, {"id": "svc"}), "token.grant", {"kind": "treasury"}), "not permitted to token.grant")
}

# --- onboarding ---

test_verified_developer_may_request_bootstrap_tokens if {
	allowed(ask(dev, "onboard.token.create", {"kind": "bootstrap_token", "owner": "dev_a"}))
	allowed(ask(rw_key, "onboard.token.create", {"kind": "bootstrap_token", "owner": "dev_a"}))
	denied(ask(ro_key, "onboard.token.create", {"kind": "bootstrap_token", "owner": "dev_a"}), "API key lacks the write scope")
	denied(ask(object.union(dev, {"verified": false}), "onboard.token.create", {"kind": "bootstrap_token", "owner": "dev_a"}), "onboard.token.create requires a verified email address")
	denied(ask(object.union(agent({}), {"verified": true}), "onboard.token.create", {"kind": "bootstrap_token"}), "onboard.token.create is open to developer subjects only")
}

test_bootstrap_tokens_are_their_owners if {
	allowed(ask(ro_key, "onboard.token.list", {"kind": "bootstrap_token", "owner": "dev_a"}))
	allowed(ask(dev, "onboard.token.revoke", {"kind": "bootstrap_token", "id": "boot_1", "owner": "dev_a"}))
	denied(ask(dev, "onboard.token.revoke", {"kind": "bootstrap_token", "id": "boot_1", "owner": "dev_b"}), "not permitted to onboard.token.revoke")
}

test_agents_are_their_developers if {
	allowed(ask(dev, "agent.update", {"kind": "agent", "id": "agt_1", "owner": "dev_a"}))
	allowed(ask(admin_key, "agent.update", {"kind": "agent", "id": "agt_1", "owner": "dev_a"}))
	denied(ask(dev, "agent.update", {"kind": "agent", "id": "agt_1", "owner": "dev_b"}), "not permitted to agent.update")
	denied(ask(ro_key, "agent.update", {"kind": "agent", "id": "agt_1", "owner": "dev_a"}), "API key lacks the write scope")
}

test_developers_read_their_agents_and_wallets if {
	mine := {"kind": "agent", "id": "agt_1", "owner": "dev_a"}
	theirs := {"kind": "agent", "id": "agt_1", "owner": "dev_b"}
	allowed(ask(dev, "agent.read", mine))
	allowed(ask(dev, "agent.balance.read", mine))
	allowed(ask(ro_key, "agent.balance.read", mine))
	allowed(ask(admin_key, "agent.balance.read", theirs))
	denied(ask(dev, "agent.balance.read", theirs), "not permitted to agent.balance.read")
	denied(ask(dev, "agent.read", theirs), "not permitted to agent.read")
	denied(ask(agent({"id": "agt_1"}), "agent.balance.read", mine), "not permitted to agent.balance.read")
	allowed(ask(dev, "agent.list", {"kind": "agent", "owner": "dev_a"}))
	not authz.allow with input as ask(agent({"id": "agt_1"}), "agent.list", {"kind": "agent", "owner": "agt_1"})
}

test_the_payee_may_settle_a_pending_transfer if {
	payee := agent({"id": "agt_payee"})
	hold := {"kind": "pending_transfer", "id": "tx_1", "owner": "agt_payer", "counterparty": "agt_payee"}
	allowed(ask(payee, "token.pending.settle", hold))
	allowed(ask(agent({"id": "agt_payer"}), "token.pending.settle", hold))
	denied(ask(agent({"id": "agt_other"}), "token.pending.settle", hold), "not permitted to token.pending.settle")
	denied(ask(payee, "token.pending.settle", object.remove(hold, ["counterparty"])), "not permitted to token.pending.settle")
}

# --- lifting an agent's suspension: only the authority that placed it, or a higher one ---

suspended(by) := object.union({"kind": "agent", "id": "agt_1", "owner": "dev_a"}, by)

denied_with_code(q, reason, code) if {
	not authz.allow with input as q
	authz.reason == reason with input as q
	authz.decision == {"allow": false, "reason": reason, "code": code} with input as q
}

test_the_owner_lifts_its_own_suspension if {
	allowed(ask(dev, "agent.reactivate", suspended({"suspended_by": "owner"})))
	allowed(ask(rw_key, "agent.reactivate", suspended({"suspended_by": "owner"})))
}

test_the_owner_cannot_lift_an_admins_suspension if {
	denied_with_code(ask(dev, "agent.reactivate", suspended({"suspended_by": "admin"})),
		"the agent was suspended by an admin: only that authority or a higher one can reactivate it", "AGENT_SUSPENDED_BY_ADMIN")
}

test_an_admin_lifts_any_suspension if {
	allowed(ask(admin_key, "agent.reactivate", suspended({"suspended_by": "admin"})))
	allowed(ask(admin_session, "agent.reactivate", suspended({"suspended_by": "owner"})))
}

test_an_unrecorded_suspension_counts_as_an_admins if {
	denied_with_code(ask(dev, "agent.reactivate", suspended({})),
		"the agent was suspended by an admin: only that authority or a higher one can reactivate it", "AGENT_SUSPENDED_BY_ADMIN")
	allowed(ask(admin_key, "agent.reactivate", suspended({})))
}

test_an_unknown_authority_is_lifted_by_no_one if {
	denied_with_code(ask(admin_key, "agent.reactivate", suspended({"suspended_by": "governance"})),
		`the agent was suspended by "governance": only that authority or a higher one can reactivate it`, "AGENT_SUSPENDED_BY_GOVERNANCE")
}

test_strangers_and_read_keys_may_not_lift_a_suspension if {
	denied(ask(object.union(dev, {"id": "dev_b"}), "agent.reactivate", suspended({"suspended_by": "owner"})), "not permitted to agent.reactivate")
	denied(ask(ro_key, "agent.reactivate", suspended({"suspended_by": "owner"})), "API key lacks the write scope")
	denied(ask(agent({}), "agent.reactivate", suspended({"suspended_by": "owner"})), "not permitted to agent.reactivate")
}

test_suspending_is_not_lifting if {
	allowed(ask(dev, "agent.update", suspended({"suspended_by": "admin"})))
}

# --- reputation ---

rated := {"kind": "reputation", "id": "agt_2", "owner": "agt_2"}

test_agents_rate if {
	allowed(ask(agent({}), "reputation.rate", rated))
	allowed(ask(agent({"reputation": 50}), "reputation.rate", rated))
}

test_only_agents_rate if {
	denied(ask(dev, "reputation.rate", rated), "reputation.rate is open to agent subjects only")
	denied(ask(admin_key, "reputation.rate", rated), "reputation.rate is open to agent subjects only")
	denied(ask({"kind": "anonymous"}, "reputation.rate", rated), "authentication required")
}

test_reputation_is_public_to_read if {
	every subject in [dev, ro_key, admin_key, agent({}), {"kind": "anonymous", "verified": false}] {
		allowed(ask(subject, "reputation.read", rated))
	}
}

test_only_admins_recompute if {
	allowed(ask(admin_key, "reputation.recompute", {"kind": "reputation"}))
	denied(ask(dev, "reputation.recompute", {"kind": "reputation"}), "not permitted to reputation.recompute")
	denied(ask(agent({}), "reputation.recompute", {"kind": "reputation"}), "not permitted to reputation.recompute")
	denied(object.union(ask(admin_key, "reputation.recompute", {"kind": "reputation"}), {"subject": object.union(admin_key, {"scopes": ["read"]})}), "API key lacks the write scope")
}

test_dispute_participants_act_and_read if {
	allowed(ask(agent({}), "dispute.act", {"kind": "dispute", "owner": "agt_1"}))
	denied(ask(agent({}), "dispute.act", {"kind": "dispute", "owner": "agt_2"}), "not permitted to dispute.act")
	allowed(ask(agent({}), "dispute.read", {"kind": "dispute", "id": "dsp_1", "owner": "agt_1"}))
	denied(ask(agent({}), "dispute.read", {"kind": "dispute", "id": "dsp_1", "owner": ""}), "not permitted to dispute.read")
	allowed(ask(admin_session, "dispute.read", {"kind": "dispute", "id": "dsp_1"}))
	allowed(ask(admin_session, "dispute.reject", {"kind": "dispute", "id": "dsp_1"}))
	allowed(ask(registry_svc, "dispute.read", {"kind": "dispute", "id": "dsp_1"}))
	denied(ask(dev, "dispute.read", {"kind": "dispute", "id": "dsp_1", "owner": "agt_1"}), "not permitted to dispute.read")
	denied(ask(registry_svc, "dispute.act", {"kind": "dispute", "owner": "agt_1"}), "not permitted to dispute.act")
	denied(ask(agent({}), "dispute.reject", {"kind": "dispute", "id": "dsp_1", "owner": "agt_1"}), "not permitted to dispute.reject")
}

# --- auditor ---

auditor_flag := {"kind": "auditor_flag", "id": "flg_1"}

test_only_admins_review_auditor_flags if {
	every action in ["auditor.flag.read", "auditor.flag.ack", "auditor.flag.resolve", "auditor.flag.escalate", "auditor.rules.read", "auditor.rules.write"] {
		allowed(ask(admin_key, action, auditor_flag))
		allowed(ask(admin_session, action, auditor_flag))
		denied_with_code(ask(dev, action, auditor_flag), sprintf("%s requires the admin role", [action]), "ADMIN_REQUIRED")
		denied_with_code(ask(agent({"reputation": 950}), action, auditor_flag), sprintf("%s requires the admin role", [action]), "ADMIN_REQUIRED")
		denied(ask({"kind": "anonymous"}, action, auditor_flag), "authentication required")
	}
}

test_auditor_writes_need_the_write_scope if {
	read_only_admin := object.union(admin_key, {"scopes": ["read"]})
	allowed(ask(read_only_admin, "auditor.flag.read", auditor_flag))
	allowed(ask(read_only_admin, "auditor.rules.read", auditor_flag))
	denied(ask(read_only_admin, "auditor.flag.ack", auditor_flag), "API key lacks the write scope")
	denied(ask(read_only_admin, "auditor.rules.write", auditor_flag), "API key lacks the write scope")
}

test_registry_service_reads_staking_for_owners_but_does_not_stake if {
	allowed(ask(registry_svc, "staking.read", {"kind": "wallet", "id": "agt_1", "owner": "agt_1"}))
	denied(ask(registry_svc, "staking.write", {"kind": "wallet", "id": "agt_1", "owner": "agt_1"}), "not permitted to staking.write")
	denied(ask(dev, "staking.read", {"kind": "wallet", "id": "agt_1", "owner": "agt_1"}), "not permitted to staking.read")
}

test_only_admins_read_the_decision_log if {
	allowed(ask(admin_session, "policy.decisions.read", {"kind": "decision_log"}))
	every subject in [dev, registry_svc, agent({})] {
		not authz.allow with input as ask(subject, "policy.decisions.read", {"kind": "decision_log"})
		authz.decision.code == "ADMIN_REQUIRED" with input as ask(subject, "policy.decisions.read", {"kind": "decision_log"})
	}
}

test_only_admins_suspend_developers if {
	allowed(ask(admin_session, "developer.suspend", {"kind": "developer", "id": "dev_b", "owner": "dev_b"}))
	not authz.allow with input as ask(dev, "developer.suspend", {"kind": "developer", "id": "dev_a", "owner": "dev_a"})
	authz.decision.code == "ADMIN_REQUIRED" with input as ask(dev, "developer.suspend", {"kind": "developer", "id": "dev_a", "owner": "dev_a"})
}
