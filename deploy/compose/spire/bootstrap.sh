#!/bin/sh
# One-shot: waits for the SPIRE server, writes the agent's configuration with a fresh join
# token into the spire-agent-config volume, and registers the stack's workloads (selected by the
# compose service label the docker workload attestor reads). Entries that exist are kept.
set -eu
sock=/run/spire/server/api.sock
td=a.sovereign.test
until spire-server healthcheck -socketPath "$sock" >/dev/null 2>&1; do sleep 1; done
node=spiffe://$td/node/compose
token=$(spire-server token generate -socketPath "$sock" -spiffeID "$node" -ttl 600 | awk '{print $2}')
sed "s/@JOIN_TOKEN@/$token/" /etc/spire/agent.conf.in >/run/spire/agent-config/agent.conf
entry() {
	spire-server entry show -socketPath "$sock" -selector "docker:label:com.docker.compose.service:$2" | grep -q "$1" ||
		spire-server entry create -socketPath "$sock" -parentID "$node" -spiffeID "$1" \
			-selector "docker:label:com.docker.compose.service:$2" -x509SVIDTTL 21600
}
entry "spiffe://$td/registry/a" registry-a
entry "spiffe://$td/teg" teg-1
entry "spiffe://$td/teg" teg-2
echo "spire bootstrap: agent configured, entries registered"
