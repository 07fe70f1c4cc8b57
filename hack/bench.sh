#!/usr/bin/env bash
# Benchmarks against the local control plane (never a timed test): BENCH_MODE=full (the default
# here) runs 5, 50 and 255 nodes populated as IOMesh clusters of that size and writes
# docs/benchmarks-results.md;
# BENCH_MODE=smoke (CI) runs once on 5 nodes to keep the benchmark working.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
mode=${BENCH_MODE:-full}
"$here/build-k8s.sh"
"$here/build-tools.sh"
# Peak RSS is read from GNU time (see test/e2e/bench_test.go).
need_debian_file /usr/bin/time time
cd "$root"
VERSION=${VERSION:-v0.0.0-bench} PLATFORMS=linux/amd64 "$here/dist.sh" >/dev/null
archive=$(ls "$root"/dist/kubectl-iomesh_*_linux_amd64.tar.gz | head -n 1)
# BENCH_KEEP_CLUSTER=1 leaves the cluster of the last scenario running, to look into it.
[ -n "${BENCH_KEEP_CLUSTER:-}" ] || trap '"$here/cluster.sh" down' EXIT
"$here/cluster.sh" up
"$here/cluster.sh" nodes 5
out=${BENCH_OUT:-}
publish=
if [ -z "$out" ] && [ "$mode" = full ]; then out=$root/docs/benchmarks-results.md; publish=1; fi
# kubectl is the server's own version, built with the control plane: the machine's kubectl may be a
# wrapper (gcloud's dispatcher execs a second kubectl), which would add its own start-up to every
# figure measured through kubectl.
MACHINE_KUBECTL=$(command -v kubectl || true)
export MACHINE_KUBECTL PATH=$K8S_BIN:$PATH
export IOMESH_TEST_CLUSTER_DIR=$CLUSTER_DIR HELM_BIN=$HELM_BIN/helm HELM3_BIN=$HELM3_BIN/helm BENCH_MODE=$mode BENCH_ARCHIVE=$archive BENCH_OUT=$out
go test -tags 'e2e bench' -count=1 -timeout 60m -run 'TestBench' -v ./test/e2e/
# A full run publishes its figures: every table and the targets into docs/benchmarks.md, between
# its markers (nothing there is typed by hand).
if [ -n "$publish" ]; then
  python3 - "$out" docs/benchmarks.md <<'PY'
import sys
results = open(sys.argv[1]).read()
text = open(sys.argv[2]).read()
begin, end = "<!-- make bench: begin -->\n", "<!-- make bench: end -->"
i, j = text.index(begin) + len(begin), text.index(end)
open(sys.argv[2], "w").write(text[:i] + results.replace("## Against the targets", "### Against the targets") + text[j:])
PY
  log "published the figures in docs/benchmarks.md"
fi
go test -run '^$' -bench . -benchtime 50x ./pkg/placement ./pkg/output
