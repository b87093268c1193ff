package sovereign.authz_test

import data.sovereign.authz

# --- attestations ---

# The resource of a submission: its subject agent, owned by its attester.
attested_by(attester) := {"kind": "attestation", "id": "agt_2", "owner": attester}

test_the_attester_submits_its_own_attestation if {
	allowed(ask(agent({}), "attestation.submit", attested_by("agt_1")))
	allowed(ask(agent({"reputation": 0}), "attestation.submit", attested_by("agt_1")))
}

test_no_one_submits_for_another_attester if {
	denied(ask(agent({}), "attestation.submit", attested_by("agt_9")), "not permitted to attestation.submit")
	denied(ask(dev, "attestation.submit", attested_by("agt_1")), "not permitted to attestation.submit")
	denied(ask({"kind": "anonymous"}, "attestation.submit", attested_by("agt_1")), "authentication required")
	denied(ask(ro_key, "attestation.submit", attested_by("dev_a")), "API key lacks the write scope")
}

test_admins_submit_with_a_write_key if {
	allowed(ask(admin_key, "attestation.submit", attested_by("agt_1")))
	denied(ask(object.union(admin_key, {"scopes": ["read"]}), "attestation.submit", attested_by("agt_1")), "API key lacks the write scope")
}

test_an_agent_asks_for_its_own_uptime if {
	own_uptime := {"kind": "attestation", "id": "agt_1", "owner": "agt_1"}
	allowed(ask(agent({}), "attestation.uptime", own_uptime))
	allowed(ask(admin_key, "attestation.uptime", own_uptime))
	denied(ask(agent({}), "attestation.uptime", {"kind": "attestation", "id": "agt_2", "owner": "agt_2"}), "not permitted to attestation.uptime")
	denied(ask(dev, "attestation.uptime", own_uptime), "not permitted to attestation.uptime")
	denied(ask({"kind": "anonymous"}, "attestation.uptime", own_uptime), "authentication required")
}

test_attestations_are_public_to_read_and_list if {
	every subject in [dev, ro_key, admin_key, agent({}), {"kind": "anonymous", "verified": false}] {
		allowed(ask(subject, "attestation.read", {"kind": "attestation", "id": "agt_2", "owner": "agt_2"}))
		allowed(ask(subject, "attestation.read", {"kind": "attestation"}))
	}
}

test_attestation_rules_are_as_documented if {
	authz.rules["attestation.submit"] == {"owner": true, "scope": "write"}
	authz.rules["attestation.read"].public
}
