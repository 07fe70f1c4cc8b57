# Shared settings for the hack/ scripts. Sourced, not run.
# Versions of the test control plane and tools; binaries are cached outside the clone, keyed by version.
K8S_VERSION=${K8S_VERSION:-v1.36.3}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
HELM_VERSION=${HELM_VERSION:-v4.3.2}
# Helm 3, only to write the releases a Helm 3 user has (the end-to-end suite runs on both).
HELM3_VERSION=${HELM3_VERSION:-v3.21.4}
KREW_VERSION=${KREW_VERSION:-v0.4.3}

CACHE_ROOT=${IOMESH_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-iomesh-test}
K8S_BIN=$CACHE_ROOT/k8s-$K8S_VERSION/bin
KWOK_BIN=$CACHE_ROOT/kwok-$KWOK_VERSION/bin
HELM_BIN=$CACHE_ROOT/helm-$HELM_VERSION/bin
HELM3_BIN=$CACHE_ROOT/helm-$HELM3_VERSION/bin

# Where a running test cluster keeps its state.
CLUSTER_DIR=${IOMESH_TEST_CLUSTER_DIR:-${TMPDIR:-/tmp}/kubectl-iomesh-cluster}

# The address ranges the local cluster hands out, Service cluster IPs and kwok's pod IPs (the
# demo, the end-to-end suite and the benchmarks alike): by default from 198.18.0.0/15, reserved
# for network benchmarking (RFC 2544) and routed nowhere, unlike the 10.0.0.0/8 of many offices
# and VPNs. hack/cluster.sh refuses ranges that overlap a route or an address of the machine.
SERVICE_CIDR=${IOMESH_SERVICE_CIDR:-198.18.0.0/16}
POD_CIDR=${IOMESH_POD_CIDR:-198.19.0.0/16}

# go.mod names the patched toolchain; fetch it through the module proxy even where the installed
# Go defaults to GOTOOLCHAIN=local.
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# install_tool DIR PKG@VERSION BINARY [LDFLAGS]: builds a tool from the Go module proxy into the
# cache outside the clone, once.
install_tool() { # dir pkg@version binary
  local dir=$1 pkg=$2 bin=$3
  if [ -x "$dir/$bin" ]; then return 0; fi
  log "building $pkg"
  mkdir -p "$dir"
  GOBIN="$dir" CGO_ENABLED=0 go install -trimpath -ldflags "${4:-}" "$pkg"
}

# need_debian_file FILE PACKAGE: installs a Debian package (apt-get, as root or through sudo) when
# FILE, which it provides, is missing; for test tools that come only from Debian.
need_debian_file() {
  local file=$1 pkg=$2 apt=(apt-get)
  [ -e "$file" ] && return 0
  [ "$(id -u)" = 0 ] || apt=(sudo apt-get)
  log "installing $pkg (Debian) for $file"
  "${apt[@]}" install -y "$pkg" >/dev/null 2>&1 ||
    { "${apt[@]}" update >/dev/null && "${apt[@]}" install -y "$pkg" >/dev/null; } ||
    die "cannot install $pkg: install it by hand (it provides $file)"
}
