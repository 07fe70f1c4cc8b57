#!/usr/bin/env bash
# Benchmarks against the local control plane (never a timed test): BENCH_MODE=full (the default
# here) runs 5, 50 and 255 nodes with filler pods and writes docs/benchmarks-results.md;
# BENCH_MODE=smoke (CI) runs once on 5 nodes to keep the benchmark working.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
mode=${BENCH_MODE:-full}
"$here/build-k8s.sh"
"$here/build-tools.sh"
cd "$root"
VERSION=${VERSION:-v0.0.0-bench} PLATFORMS=linux/amd64 "$here/dist.sh" >/dev/null
archive=$(ls "$root"/dist/kubectl-iomesh_*_linux_amd64.tar.gz | head -n 1)
trap '"$here/cluster.sh" down' EXIT
"$here/cluster.sh" up
"$here/cluster.sh" nodes 5
out=${BENCH_OUT:-}
if [ -z "$out" ] && [ "$mode" = full ]; then out=$root/docs/benchmarks-results.md; fi
export IOMESH_TEST_CLUSTER_DIR=$CLUSTER_DIR HELM_BIN=$HELM_BIN/helm BENCH_MODE=$mode BENCH_ARCHIVE=$archive BENCH_OUT=$out
go test -tags 'e2e bench' -count=1 -timeout 60m -run 'TestBench' -v ./test/e2e/
go test -run '^$' -bench . -benchtime 50x ./pkg/placement ./pkg/podtable
