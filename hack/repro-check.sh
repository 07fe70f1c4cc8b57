#!/usr/bin/env bash
# Proves the release archives are reproducible: builds the linux/amd64 archive of HEAD twice, in
# two clones at different paths, and compares them byte for byte (paths, timestamps, owners and
# gzip headers would show). The build cache is shared: Go's compiler output depends only on its
# inputs, and the cache is keyed by them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for side in a b; do
  git clone -q "$root" "$tmp/$side-clone"
  (cd "$tmp/$side-clone" && VERSION=v0.0.0-repro PLATFORMS=linux/amd64 hack/dist.sh >/dev/null 2>&1)
done
a=$(cd "$tmp/a-clone/dist" && sha256sum kubectl-iomesh_v0.0.0-repro_linux_amd64.tar.gz)
b=$(cd "$tmp/b-clone/dist" && sha256sum kubectl-iomesh_v0.0.0-repro_linux_amd64.tar.gz)
echo "first build:  $a"
echo "second build: $b"
[ "$a" = "$b" ] || { echo "the two builds differ" >&2; exit 1; }
echo "1 passed, 0 failed"
