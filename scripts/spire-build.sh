#!/usr/bin/env bash
# Builds SPIRE's spire-server and spire-agent, at the version pinned as tools in
# tools/spire/go.mod (v1.13.3), into ${SOVEREIGN_SPIRE_DIR:-$HOME/.cache/sovereign/spire}/bin and
# prints that directory. A build whose VERSION stamp matches the pin is reused, so only the first
# run pays (about 5 minutes on 2 cores; Go's build cache makes later rebuilds fast).
#
#   export SOVEREIGN_SPIRE_BIN=$(scripts/spire-build.sh)
#   go test ./identity/ -run TestSpire -v
#
# A plain `go install github.com/spiffe/spire/cmd/spire-server@v1.13.3` is refused by the module
# proxy here, hence the tools module (go get -tool …; go build in that module).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/tools/spire"
dir=${SOVEREIGN_SPIRE_DIR:-$HOME/.cache/sovereign/spire}
bin="$dir/bin"

version=$(awk '$1 == "github.com/spiffe/spire" { print $2 }' "$tools/go.mod")
if [ -z "$version" ]; then
  echo "spire-build: no github.com/spiffe/spire requirement in $tools/go.mod" >&2
  exit 1
fi
# The stamp names the pin and the exact dependency set, so a change to either rebuilds.
stamp="github.com/spiffe/spire $version $(go env GOOS)/$(go env GOARCH) go.sum:$(sha256sum "$tools/go.sum" | cut -c1-16)"

if [ -x "$bin/spire-server" ] && [ -x "$bin/spire-agent" ] && [ -f "$bin/VERSION" ] &&
  [ "$(cat "$bin/VERSION")" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi

echo "spire-build: building spire-server and spire-agent $version into $bin (first time: ~5 minutes)" >&2
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
(
  cd "$tools"
  go build -o "$tmp/" \
    -ldflags "-X github.com/spiffe/spire/pkg/common/version.gittag=${version#v}" \
    github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
)
for b in spire-server spire-agent; do
  got=$("$tmp/$b" --version 2>&1 || true)
  if [ "$got" != "${version#v}" ]; then
    echo "spire-build: $b --version says '$got', want '${version#v}'" >&2
    exit 1
  fi
done
mkdir -p "$bin"
mv -f "$tmp/spire-server" "$tmp/spire-agent" "$bin/"
echo "$stamp" >"$bin/VERSION"
echo "spire-build: built in $(($(date +%s) - start))s" >&2
echo "$bin"
