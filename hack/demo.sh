#!/usr/bin/env bash
# make demo: a local IOMesh to try kubectl iomesh on, with no IOMesh installation needed.
# Starts the local control plane with 5 kwok worker nodes, installs the stand-in IOMesh chart as
# release iomesh in iomesh-system (Enterprise), starts the stand-in operator (it reports IOMesh's
# status: licence, chunks registering, meta leader, capacity; it drains a chunk the stand-in
# iomeshctl unregisters), then runs the main job through kubectl's plugin discovery: a scale-out,
# then a scale-in of one chunk pod. What it changes on the machine, and how `down` undoes it:
# hack/cluster.sh (the routes) and the README. Usage: hack/demo.sh up|down
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export IOMESH_TEST_CLUSTER_DIR=${IOMESH_DEMO_DIR:-${TMPDIR:-/tmp}/kubectl-iomesh-demo}
. "$here/lib.sh"
DEMO=$CLUSTER_DIR
NODES=5
LICENSE_CHUNKS=8

stop_pid() { # file
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

down() {
  stop_pid "$DEMO/operator.pid"
  stop_pid "$DEMO/repo.pid"
  "$here/cluster.sh" down
}

step=""
fail() {
  local rc=$?
  trap - ERR
  log "demo failed at: $step (exit $rc)"
  "$here/cluster.sh" logs || true
  [ -f "$DEMO/operator.log" ] && { echo "----- last lines of operator.log -----" >&2; tail -n 25 "$DEMO/operator.log" >&2; }
  exit "$rc"
}

# show prints a command as a person would type it, then runs it.
show() {
  printf '\n$ %s\n' "$*"
  "$@"
}

up() {
  trap fail ERR
  step="stopping a previous demo"
  down >/dev/null 2>&1 || true
  step="starting the control plane"
  "$here/cluster.sh" up
  "$here/cluster.sh" nodes "$NODES"
  mkdir -p "$DEMO/bin" "$DEMO/charts" "$DEMO/helm"
  export KUBECONFIG=$DEMO/admin.kubeconfig
  export HELM_CONFIG_HOME=$DEMO/helm/config HELM_CACHE_HOME=$DEMO/helm/cache HELM_DATA_HOME=$DEMO/helm/data
  export HELM_REPOSITORY_CONFIG=$HELM_CONFIG_HOME/repositories.yaml HELM_REPOSITORY_CACHE=$HELM_CACHE_HOME/repository
  export PATH=$DEMO/bin:$PATH

  step="building the plugin, the stand-in operator and the stand-in iomeshctl"
  cp "$root/bin/kubectl-iomesh" "$DEMO/bin/"
  (cd "$root" && CGO_ENABLED=0 go build -o "$DEMO/bin/standin-operator" ./test/standin-operator)
  # kwok runs it as /opt/iomesh/iomeshctl for `kubectl exec` into the meta pods (hack/cluster.sh).
  (cd "$root" && CGO_ENABLED=0 go build -o "$DEMO/iomeshctl" ./test/standin-iomeshctl)
  ln -sf "$HELM_BIN/helm" "$DEMO/bin/helm"

  step="serving the stand-in chart from a loopback Helm repository"
  helm package "$root/deploy/charts/iomesh" --version v1.0.1 -d "$DEMO/charts" >/dev/null
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  helm repo index "$DEMO/charts" --url "http://127.0.0.1:$port"
  (cd "$DEMO/charts" && exec python3 -m http.server "$port" --bind 127.0.0.1 >"$DEMO/repo.log" 2>&1) &
  echo $! > "$DEMO/repo.pid"
  for _ in $(seq 1 50); do helm repo add iomesh "http://127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 0.1; done
  helm repo list | grep -q '^iomesh' || { log "chart repository did not come up"; false; }

  step="installing IOMesh (stand-in chart v1.0.1, Enterprise) as release iomesh"
  helm install iomesh iomesh/iomesh --version v1.0.1 -n iomesh-system --create-namespace \
    --set iomesh.edition=enterprise --set iomesh.chunk.dataCIDR=10.234.1.0/24 \
    --set-json 'iomesh.chunk.deviceMap={"cacheWithJournal":{"selector":{"matchLabels":{"iomesh.com/bd-driverType":"SSD"}}},"dataStore":{"selector":{"matchLabels":{"iomesh.com/bd-driverType":"HDD"}}}}' >/dev/null

  step="publishing disks: one SSD and two HDDs per node, as IOMesh's disk manager would"
  for i in $(seq 0 $((NODES - 1))); do
    for d in ssd:SSD:429496729600 hdd1:HDD:4398046511104 hdd2:HDD:4398046511104; do
      IFS=: read -r name driver bytes <<<"$d"
      cat <<BD
---
apiVersion: openebs.io/v1alpha1
kind: BlockDevice
metadata:
  name: blockdevice-kwok-node-$i-$name
  namespace: iomesh-system
  labels: {kubernetes.io/hostname: kwok-node-$i, iomesh.com/bd-driverType: $driver, iomesh.com/bd-deviceType: disk}
spec:
  nodeAttributes: {nodeName: kwok-node-$i}
  path: /dev/$name
  capacity: {storage: $bytes}
  filesystem: {}
status: {claimState: Unclaimed, state: Active}
BD
    done
  done | kubectl apply -f - >/dev/null

  step="starting the stand-in operator"
  "$DEMO/bin/standin-operator" --kubeconfig "$KUBECONFIG" --license-max-chunk "$LICENSE_CHUNKS" >"$DEMO/operator.log" 2>&1 &
  echo $! > "$DEMO/operator.pid"

  step="waiting for 3 chunk and 3 meta pods, the licence and the registered chunks"
  kubectl -n iomesh-system wait pod -l 'app in (iomesh-chunk,iomesh-meta)' --for=condition=Ready --timeout=120s >/dev/null
  for _ in $(seq 1 120); do
    n=$(kubectl -n iomesh-system get iomesh iomesh -o jsonpath='{range .status.summary.chunkSummary.chunks[*]}{.status}{"\n"}{end}' 2>/dev/null | grep -c CONNECTED_HEALTHY || true)
    lic=$(kubectl -n iomesh-system get iomesh iomesh -o jsonpath='{.status.license.maxChunkNum}' 2>/dev/null || true)
    [ "$n" -ge 3 ] && [ -n "$lic" ] && break
    sleep 0.5
  done
  [ "$n" -ge 3 ] || { log "the stand-in operator did not register 3 chunks"; false; }

  step="kubectl iomesh status"
  show kubectl iomesh status
  step="kubectl iomesh preflight --chunk 5 --meta 5"
  show kubectl iomesh preflight --chunk 5 --meta 5
  step="kubectl iomesh scale --chunk 5 --meta 5 --yes"
  show kubectl iomesh scale --chunk 5 --meta 5 --yes
  step="kubectl iomesh status after the scale"
  show kubectl iomesh status
  local scalein="  kubectl iomesh scale --chunk 3 --yes         # scale in once more: one chunk pod, the documented way"
  if [ -f "$DEMO/no-exec" ]; then
    log "skipping the scale-in: it runs iomeshctl in a meta pod, and here $(cat "$DEMO/no-exec")"
    scalein="  (no scale-in here: kubectl exec into the meta pods cannot reach the stand-in iomeshctl; see above)"
  else
    step="kubectl iomesh scale --chunk 4 --yes (scale-in)"
    show kubectl iomesh scale --chunk 4 --yes
  fi
  trap - ERR

  cat <<EOF

The demo cluster is running: a local kube-apiserver with $NODES kwok worker nodes, the stand-in
IOMesh chart as release iomesh in iomesh-system, and a stand-in for the IOMesh operator (the real
one is closed source: this one runs no storage, it reports the status IOMesh would report).
Use it from this shell:

  export KUBECONFIG=$KUBECONFIG
  export HELM_REPOSITORY_CONFIG=$HELM_REPOSITORY_CONFIG HELM_REPOSITORY_CACHE=$HELM_REPOSITORY_CACHE
  export PATH=$DEMO/bin:\$PATH

  kubectl iomesh status -o wide
  kubectl iomesh preflight -o wide
  kubectl get bd -n iomesh-system -o wide
  kubectl iomesh scale --chunk 9 --dry-run     # refused: $NODES nodes, a licence for $LICENSE_CHUNKS
$scalein
  kubectl get pod -n iomesh-system

Stop it with: make demo-down (it also removes the routes the demo added, if any)
EOF
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
