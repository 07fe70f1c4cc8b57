#!/usr/bin/env bash
# Builds the release archives and checksums with the plain Go toolchain, the same layout as
# .goreleaser.yaml: dist/kubectl-iomesh_<tag>_<os>_<arch>.tar.gz holding the binary and LICENSE.
# The output is deterministic for a given commit (trimmed paths, commit-time stamps, sorted and
# owner-less tar entries, gzip without a timestamp).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
# go.mod names the patched toolchain: fetch it through the module proxy if the local Go is older.
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD)}
DATE=${DATE:-$(git log -1 --format=%cI)}
EPOCH=$(git log -1 --format=%ct)
PKG=github.com/kubectl-iomesh/kubectl-iomesh
LDFLAGS="-s -w -X $PKG/pkg/buildinfo.version=$VERSION -X $PKG/pkg/buildinfo.commit=$COMMIT -X $PKG/pkg/buildinfo.date=$DATE"
PLATFORMS=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"}

rm -rf dist && mkdir -p dist
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/}
  bin=kubectl-iomesh
  [ "$os" = windows ] && bin=kubectl-iomesh.exe
  stage=dist/.stage/${os}_${arch}
  mkdir -p "$stage"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$stage/$bin" ./cmd/kubectl-iomesh
  cp LICENSE "$stage/LICENSE"
  cp kubectl_complete-iomesh "$stage/kubectl_complete-iomesh"
  touch -d "@$EPOCH" "$stage/$bin" "$stage/LICENSE" "$stage/kubectl_complete-iomesh"
  archive=dist/kubectl-iomesh_${VERSION}_${os}_${arch}.tar.gz
  tar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$bin" LICENSE kubectl_complete-iomesh | gzip -n -9 > "$archive"
  echo "built $archive ($(du -h "$archive" | cut -f1))" >&2
done
rm -rf dist/.stage
(cd dist && sha256sum kubectl-iomesh_*.tar.gz > checksums.txt)
cat dist/checksums.txt
