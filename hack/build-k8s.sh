#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kubectl (the benchmarks'
# kubectl, of the server's version) from the Go module proxy into a cache outside the clone; only
# the missing ones. k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the
# staging modules with local paths), so a throw-away module requires it and points every staging
# module at its published version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

want=(kube-apiserver kube-controller-manager kube-scheduler etcd kubectl)
need=()
for b in "${want[@]}"; do [ -x "$K8S_BIN/$b" ] || need+=("$b"); done
if [ ${#need[@]} = 0 ]; then log "control plane $K8S_VERSION cached in $K8S_BIN"; exit 0; fi

staging_version=v0.${K8S_VERSION#v1.}
work=$(mktemp -d "${TMPDIR:-/tmp}/k8s-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
log "building ${need[*]} $K8S_VERSION in $work (the control plane, once: see docs/development.md for how long)"

gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$gomod" ] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"

{
  echo "module iomesh.test/k8sbuild"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  # every "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x v0.N.M"
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 '"$staging_version"'#p' "$gomod"
  echo ")"
} > go.mod
mkdir -p etcd
cat > etcd/main.go <<'GO'
// Command etcd is the etcd server from the version the Kubernetes module graph pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
etcd_version=$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$gomod")
[ -n "$etcd_version" ] || die "k8s.io/kubernetes@$K8S_VERSION does not pin go.etcd.io/etcd/server/v3"
# No `go mod tidy`: nothing here imports the commands, so tidy would drop k8s.io/kubernetes again.
pkgs=() gets=()
for b in "${need[@]}"; do
  case $b in
    etcd) pkgs+=(./etcd) gets+=("go.etcd.io/etcd/server/v3/etcdmain@$etcd_version") ;;
    *) pkgs+=("k8s.io/kubernetes/cmd/$b") gets+=("k8s.io/kubernetes/cmd/$b@$K8S_VERSION") ;;
  esac
done
go get "${gets[@]}"
ver=$K8S_VERSION
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$ver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$ver" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
mkdir -p "$work/out"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/out/" "${pkgs[@]}"
mkdir -p "$K8S_BIN"
for b in "${need[@]}"; do install -m 0755 "$work/out/$b" "$K8S_BIN/$b"; done
"$K8S_BIN/kube-apiserver" --version >&2
log "${need[*]} cached in $K8S_BIN"
