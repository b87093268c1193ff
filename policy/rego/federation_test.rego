package sovereign.federation_test

import data.sovereign.authz

dev := {"kind": "developer", "id": "dev_a", "roles": ["developer"], "auth_method": "session", "verified": true}

unverified := object.union(dev, {"verified": false})

ro_key := object.union(dev, {"auth_method": "api_key", "scopes": ["read"]})

admin := {"kind": "developer", "id": "dev_admin", "roles": ["developer", "admin"], "auth_method": "api_key", "scopes": ["read", "write"], "verified": true}

peer(id) := {"kind": "peer_registry", "id": id, "spiffe_id": id, "auth_method": "x509_svid"}

ask(subject, action) := {"subject": subject, "action": action, "resource": {"kind": "federation_peer"}, "context": {"time": "2026-01-01T00:00:00Z"}}

test_a_verified_developer_or_an_admin_proposes_a_peer if {
	authz.allow with input as ask(dev, "federation.peer.propose")
	authz.allow with input as ask(admin, "federation.peer.propose")
	authz.reason == "federation.peer.propose requires a verified email address" with input as ask(unverified, "federation.peer.propose")
	authz.reason == "API key lacks the write scope" with input as ask(ro_key, "federation.peer.propose")
	not authz.allow with input as ask(peer("spiffe://b.test/registry/main"), "federation.peer.propose")
}

test_developers_read_peers if {
	authz.allow with input as ask(dev, "federation.peer.read")
	authz.allow with input as ask(ro_key, "federation.peer.read")
	not authz.allow with input as ask({"kind": "anonymous"}, "federation.peer.read")
}

test_only_admins_decide_on_peers if {
	authz.allow with input as ask(admin, "federation.peer.manage")
	authz.decision == {"allow": false, "reason": "federation.peer.manage requires the admin role", "code": "ADMIN_REQUIRED"} with input as ask(dev, "federation.peer.manage")
}

test_a_peer_registry_queries if {
	authz.allow with input as ask(peer("spiffe://b.test/registry/main"), "federation.query")
}

test_a_peer_presenting_another_id_is_refused if {
	authz.decision.code == "PEER_NOT_A_REGISTRY" with input as ask(peer("spiffe://b.test/agent/agt_1"), "federation.query")
	authz.decision.code == "PEER_NOT_A_REGISTRY" with input as ask(peer("spiffe://b.test/teg"), "federation.query")
	authz.decision.code == "PEER_NOT_A_REGISTRY" with input as ask(object.union(peer("spiffe://b.test/registry/main"), {"auth_method": "api_key"}), "federation.query")
	not authz.allow with input as ask(peer("spiffe://b.test/registry/a/b"), "federation.query")
}

test_nobody_else_queries_as_a_peer if {
	authz.reason == "federation.query is open to peer_registry subjects only" with input as ask(admin, "federation.query")
	authz.reason == "federation.query is open to peer_registry subjects only" with input as ask({"kind": "service", "id": "spiffe://a.test/registry/main", "spiffe_id": "spiffe://a.test/registry/main", "auth_method": "x509_svid"}, "federation.query")
	authz.reason == "authentication required" with input as ask({"kind": "anonymous"}, "federation.query")
}

test_a_peer_registry_syncs if {
	authz.allow with input as ask(peer("spiffe://b.test/registry/main"), "federation.sync")
	authz.decision.code == "PEER_NOT_A_REGISTRY" with input as ask(peer("spiffe://b.test/agent/agt_1"), "federation.sync")
	authz.reason == "federation.sync is open to peer_registry subjects only" with input as ask(admin, "federation.sync")
	authz.reason == "authentication required" with input as ask({"kind": "anonymous"}, "federation.sync")
}
