//go:build unix

package readme_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fedThreeScript runs three registries as processes of the built binary, each in its own
// trust domain with its own data, public and federation listeners, peers them all with each
// other, and walks a card from A to B and C: by live query, by sync into local search, its
// deletion as a tombstone; then stops C (A's queries still answer within the deadline, C
// marked), publishes on A while C is down, restarts C and waits for it to catch up.
const fedThreeScript = `set -euo pipefail
D=/tmp/fed3
mkdir -p $D
wait_for() {
  local until=$((SECONDS + 60))
  until eval "$1"; do
    if (( SECONDS > until )); then echo "### timed out: $1"; exit 1; fi
    sleep 0.2
  done
}
start() { # name trust-domain public federation
  SOVEREIGN_TRUST_DOMAIN=$2 SOVEREIGN_DATA=$D/$1 SOVEREIGN_ADDR=$3 SOVEREIGN_FEDERATION_SYNC_INTERVAL=2s \
    sovereign up --federation-addr $4 >> $D/$1.log 2>&1 &
  echo $! > $D/$1.pid
}
peer() { # registry key trust-domain base-url bundle-endpoint
  local id
  id=$(sovereign federation propose --registry $1 --credential "$2" --trust-domain $3 --base-url $4 --bundle-endpoint $5 | awk 'NR==1{print $1}')
  sovereign federation approve "$id" --registry $1 --credential "$2" > /dev/null
}
card() { # file name
  cat > $1 <<CARD
{"name": "$2", "description": "$2 watches the sea for you", "version": "1.0.0",
 "supportedInterfaces": [{"url": "https://agents.example.com/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
 "capabilities": {}, "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
 "skills": [{"id": "watch", "name": "Watch", "description": "Watches", "tags": ["sea"]}]}
CARD
}
A=http://127.0.0.1:8620; B=http://127.0.0.1:8720; C=http://127.0.0.1:8820
start a a.example 127.0.0.1:8620 127.0.0.1:8643
start b b.example 127.0.0.1:8720 127.0.0.1:8743
start c c.example 127.0.0.1:8820 127.0.0.1:8843
wait_for "curl -sf $A/readyz > /dev/null && curl -sf $B/readyz > /dev/null && curl -sf $C/readyz > /dev/null"
KEY_A=$(cat $D/a/admin.key); KEY_B=$(cat $D/b/admin.key); KEY_C=$(cat $D/c/admin.key)
peer $A "$KEY_A" b.example https://127.0.0.1:8743 http://127.0.0.1:8720/.well-known/spiffe-bundle
peer $A "$KEY_A" c.example https://127.0.0.1:8843 http://127.0.0.1:8820/.well-known/spiffe-bundle
peer $B "$KEY_B" a.example https://127.0.0.1:8643 http://127.0.0.1:8620/.well-known/spiffe-bundle
peer $B "$KEY_B" c.example https://127.0.0.1:8843 http://127.0.0.1:8820/.well-known/spiffe-bundle
peer $C "$KEY_C" a.example https://127.0.0.1:8643 http://127.0.0.1:8620/.well-known/spiffe-bundle
peer $C "$KEY_C" b.example https://127.0.0.1:8743 http://127.0.0.1:8720/.well-known/spiffe-bundle
for r in "$A $KEY_A" "$B $KEY_B" "$C $KEY_C"; do
  set -- $r
  wait_for "[ \$(sovereign federation status --registry $1 --credential $2 | grep -c 'fresh, fetched') = 2 ]"
done
echo '### peered'

card $D/tide.json Tidewatch
ID=$(sovereign card publish --card $D/tide.json --registry $A --token "$KEY_A" | awk '{print $4}')
for R in $B $C; do
  wait_for "sovereign federation query tidewatch --registry $R | grep -E '^Tidewatch +agt_[^ ]+ +a\.example' > /dev/null"
  wait_for "curl -s '$R/api/v1/agent-cards?q=tidewatch&fields=name,origin_registry' | grep -F '\"origin_registry\":\"a.example\"' > /dev/null"
done
echo '### found on B and C by live query, then by local search'

sovereign card delete $ID --registry $A --token "$KEY_A"
for R in $B $C; do
  wait_for "! curl -s '$R/api/v1/agent-cards?q=tidewatch&fields=name' | grep -F Tidewatch > /dev/null"
done
echo '### the tombstone reached B and C'

kill $(cat $D/c.pid); wait $(cat $D/c.pid) 2> /dev/null || true
t0=$(date +%s%N)
OUT=$(sovereign federation query sea --registry $A)
took=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "$OUT"
echo "$OUT" | grep -E '^c\.example +(error|timeout|skipped) ' > /dev/null
echo "### with C down, A answered in ${took} ms"
(( took < 3000 ))

card $D/reef.json Reefwatch
sovereign card publish --card $D/reef.json --registry $A --token "$KEY_A" > /dev/null
start c c.example 127.0.0.1:8820 127.0.0.1:8843
wait_for "curl -sf $C/readyz > /dev/null"
wait_for "curl -s '$C/api/v1/agent-cards?q=reefwatch&fields=name,origin_registry' | grep -F '\"origin_registry\":\"a.example\"' > /dev/null"
echo '### C restarted and caught up'
kill $(cat $D/a.pid) $(cat $D/b.pid) $(cat $D/c.pid)
echo '### FED3 done'
`

// TestFederation_ThreeRegistriesAsProcesses runs fedThreeScript against the built binary.
func TestFederation_ThreeRegistriesAsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sovereign and runs three registries; not with -short")
	}
	for _, tool := range []string{"bash", "curl", "awk", "grep", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the test needs %s, which is not installed", tool)
		}
	}
	tmp := t.TempDir()
	src, _ := freePorts(t, strings.ReplaceAll(fedThreeScript, "/tmp/fed3", filepath.Join(tmp, "fed3")))
	raw, runErr := runSovereignScript(t, tmp, "fed3", src, 4*time.Minute)
	log := string(raw)
	if runErr != nil || !strings.Contains(log, "### FED3 done") {
		var logs strings.Builder
		for _, n := range []string{"a", "b", "c"} {
			b, _ := os.ReadFile(filepath.Join(tmp, "fed3", n+".log"))
			logs.WriteString("--- " + n + ".log\n" + tail(string(b), 15) + "\n")
		}
		t.Fatalf("three registries as processes (%v):\n%s\n%s", runErr, tail(log, 40), logs.String())
	}
	t.Log(tail(log, 12))
}
