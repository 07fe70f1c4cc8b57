#!/usr/bin/env bash
# Builds the test tools from the Go module proxy into the cache outside the clone:
# kwok (fake nodes and pods), the Helm 4 and Helm 3 CLIs (to install and cross-check in tests)
# and krew.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

install_tool "$KWOK_BIN" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" kwok
# kwok's stage definitions ship inside its module.
stage_dir=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
if [ ! -d "$stage_dir" ]; then go mod download "sigs.k8s.io/kwok@$KWOK_VERSION"; fi
[ -d "$stage_dir" ] || die "kwok stages not found in $stage_dir"
install_tool "$HELM_BIN" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" helm "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
install_tool "$HELM3_BIN" "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION" helm "-X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION"
if [ "${WITH_KREW:-0}" = 1 ]; then
  install_tool "$CACHE_ROOT/krew-$KREW_VERSION/bin" "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" krew
  install_tool "$CACHE_ROOT/krew-$KREW_VERSION/bin" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION" validate-krew-manifest
fi
log "tools ready"
