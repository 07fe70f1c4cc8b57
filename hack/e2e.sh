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
export IOMESH_TEST_CLUSTER_DIR=$CLUSTER_DIR HELM_BIN=$HELM_BIN/helm RELIABILITY_OUT=${RELIABILITY_OUT-$root/docs/reliability.md}
cd "$root"
go test -tags e2e -count=1 -timeout 40m -v ./test/e2e/ "$@"
