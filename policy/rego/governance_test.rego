package sovereign.governance_test

import data.sovereign.authz

# Who may propose, vote, execute and read governance proposals.

gov_agent(fields) := object.union({"kind": "agent", "id": "agt_gov", "auth_method": "jwt_svid", "verified": false}, fields)

gov_ask(subject, action) := {"subject": subject, "action": action, "resource": {"kind": "proposal", "id": "1"}, "context": {"time": "2026-01-01T00:00:00Z"}}

gov_admin := {"kind": "developer", "id": "dev_admin", "roles": ["developer", "admin"], "auth_method": "api_key", "scopes": ["read", "write"], "verified": true}

gov_dev_ro := {"kind": "developer", "id": "dev_a", "roles": ["developer"], "auth_method": "api_key", "scopes": ["read"], "verified": true}

test_trusted_agent_with_stake_may_propose if {
	authz.allow with input as gov_ask(gov_agent({"reputation": 450, "stake": "1000"}), "governance.propose")
	authz.allow with input as gov_ask(gov_agent({"reputation": 950, "stake": "25000.5"}), "governance.propose")
}

test_propose_needs_the_trusted_tier if {
	authz.reason == "governance.propose requires the Trusted tier or above; the subject is New" with input as gov_ask(gov_agent({"reputation": 399, "stake": "5000"}), "governance.propose")
	not authz.allow with input as gov_ask(gov_agent({"tier": "Untrusted", "stake": "5000"}), "governance.propose")
	not authz.allow with input as gov_ask(gov_agent({"stake": "5000"}), "governance.propose")
}

test_propose_needs_a_stake_of_1000 if {
	authz.reason == "governance.propose requires a stake of at least 1000 AVT" with input as gov_ask(gov_agent({"reputation": 500, "stake": "999.999999999999999999"}), "governance.propose")
	not authz.allow with input as gov_ask(gov_agent({"reputation": 500}), "governance.propose")
}

test_only_agents_propose if {
	authz.reason == "governance.propose is open to agent subjects only" with input as gov_ask(gov_admin, "governance.propose")
}

test_agents_vote_developers_do_not if {
	authz.allow with input as gov_ask(gov_agent({}), "governance.vote")
	authz.reason == "governance.vote is open to agent subjects only" with input as gov_ask(gov_admin, "governance.vote")
	authz.reason == "authentication required" with input as gov_ask({"kind": "anonymous"}, "governance.vote")
}

test_agents_and_developers_execute if {
	authz.allow with input as gov_ask(gov_agent({}), "governance.execute")
	authz.allow with input as gov_ask(gov_admin, "governance.execute")
	authz.reason == "API key lacks the write scope" with input as gov_ask(gov_dev_ro, "governance.execute")
	authz.reason == "authentication required" with input as gov_ask({"kind": "anonymous"}, "governance.execute")
	svc := {"kind": "service", "id": "spiffe://sovereign.test/registry/main", "spiffe_id": "spiffe://sovereign.test/registry/main", "auth_method": "x509_svid"}
	authz.reason == "governance.execute is open to agent, developer subjects only" with input as gov_ask(svc, "governance.execute")
}

test_proposals_are_public if {
	authz.allow with input as gov_ask({"kind": "anonymous"}, "governance.read")
	authz.allow with input as gov_ask(gov_agent({}), "governance.read")
}

test_parameters_are_set_by_admins_only if {
	authz.allow with input as gov_ask(gov_admin, "teg.params.set")
	authz.reason == "not permitted to teg.params.set" with input as gov_ask(gov_agent({"reputation": 950, "stake": "100000"}), "teg.params.set")
}
