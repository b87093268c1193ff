#!/bin/sh
# build-bundle.sh POLICY_DIR OUT_FILE [REVISION]
#
# Packs the authorization policy (the *.rego files of POLICY_DIR, without the *_test.rego unit
# tests) into an OPA bundle: a gzipped tarball with a .manifest whose revision the servers
# report in their decision log. Any static HTTP server that sends ETags serves it (deploy/compose
# uses nginx); the registries and TEGs poll it with --policy-bundle URL. Needs only sh, tar and
# gzip (busybox has them), so it runs in a one-shot container as well as on a workstation.
set -eu
src=${1:?usage: build-bundle.sh POLICY_DIR OUT_FILE [REVISION]}
out=${2:?usage: build-bundle.sh POLICY_DIR OUT_FILE [REVISION]}
rev=${3:-$(date -u +%Y%m%dT%H%M%SZ)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/bundle"
n=0
for f in "$src"/*.rego; do
	case "$f" in *_test.rego) continue ;; esac
	[ -f "$f" ] || continue
	cp "$f" "$work/bundle/"
	n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
	echo "build-bundle.sh: no *.rego policy in $src" >&2
	exit 1
fi
printf '{"revision":"%s","roots":["sovereign"]}\n' "$rev" >"$work/bundle/.manifest"
mkdir -p "$(dirname "$out")"
# Write beside the target, then rename: a server never serves a half-written bundle.
(cd "$work/bundle" && tar -cf - .manifest *.rego) | gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-bundle.sh: $n policies, revision $rev -> $out"
