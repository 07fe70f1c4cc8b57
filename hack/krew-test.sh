#!/usr/bin/env bash
# Proves the plugin installs the way krew users install it: builds the release archives, renders
# the krew manifest with their checksums, validates it (and the committed plugins/iomesh.yaml)
# with validate-krew-manifest, installs it with a real krew into a temporary KREW_ROOT, and runs
# `kubectl iomesh version --client` through krew's bin directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
cd "$root"
WITH_KREW=1 "$here/build-tools.sh"
KREW=$CACHE_ROOT/krew-$KREW_VERSION/bin
version=${VERSION:-v0.0.0-krewtest}
VERSION=$version PLATFORMS="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64" "$here/dist.sh" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/krew-manifest.sh" "$tmp/iomesh.yaml"
"$KREW/validate-krew-manifest" -manifest "$tmp/iomesh.yaml" -skip-install
"$KREW/validate-krew-manifest" -manifest plugins/iomesh.yaml -skip-install
export KREW_ROOT=$tmp/krew HOME=$tmp/home
mkdir -p "$HOME"
"$KREW/krew" install --manifest="$tmp/iomesh.yaml" --archive="dist/kubectl-iomesh_${version}_linux_amd64.tar.gz"
out=$(PATH="$KREW_ROOT/bin:$PATH" kubectl iomesh version --client)
echo "$out"
case "$out" in
  *"Client Version: $version "*) echo "krew install: ok" ;;
  *) echo "krew-installed plugin does not report $version" >&2; exit 1 ;;
esac
PATH="$KREW_ROOT/bin:$PATH" kubectl iomesh version --client -o json | grep -q "\"version\": \"$version\""
echo "1 passed, 0 failed"
