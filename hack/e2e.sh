#!/usr/bin/env bash
# Runs the end-to-end suite: builds what is missing, starts the local control plane, runs
# test/e2e against it, and always stops the control plane (pass or fail).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)

"$here/build-k8s.sh"
"$here/build-tools.sh"
# Real bash completion through kubectl (TestCompletion).
need_debian_file /usr/share/bash-completion/bash_completion bash-completion
trap '"$here/cluster.sh" down' EXIT
"$here/cluster.sh" up
"$here/cluster.sh" nodes 3
export IOMESH_TEST_CLUSTER_DIR=$CLUSTER_DIR HELM_BIN=$HELM_BIN/helm HELM3_BIN=$HELM3_BIN/helm
cd "$root"
if [ $# -gt 0 ]; then
  # A narrowed run, on releases written by the CLI E2E_HELM names (4 unless told).
  RELIABILITY_OUT=${RELIABILITY_OUT-} go test -tags e2e -count=1 -timeout 40m -v ./test/e2e/ "$@"
  exit
fi
# The whole suite on releases the Helm 4 CLI wrote (server-side apply), then the commands on
# releases the Helm 3 CLI wrote (client-side apply): status, preflight, scale-out, the render
# guard and the counts-only check, the user's own upgrade afterwards, and scale-in.
log "end-to-end suite, releases written by Helm $HELM_VERSION"
E2E_HELM=4 RELIABILITY_OUT=${RELIABILITY_OUT-$root/docs/reliability.md} go test -tags e2e -count=1 -timeout 40m -v ./test/e2e/
log "end-to-end commands, releases written by Helm $HELM3_VERSION"
E2E_HELM=3 RELIABILITY_OUT= go test -tags e2e -count=1 -timeout 20m -v ./test/e2e/ \
  -run '^(TestStatusFreshInstall|TestPreflightEnterpriseNodes|TestScaleEnterpriseChunkAndMeta|TestScaleChangesOnlyTheCounts|TestEitherCLIUpgradesAfterAScale|TestScaleIn|TestScaleInProvesTheChunk|TestRolesAreExact)$'
