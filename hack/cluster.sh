#!/usr/bin/env bash
# A local Kubernetes control plane for tests, on 127.0.0.1 only:
# etcd, kube-apiserver (RBAC on), kube-controller-manager, kube-scheduler, and kwok faking
# nodes and pods. Usage: hack/cluster.sh up|down|nodes N|status|logs|env|net-up|net-down
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

PKI=$CLUSTER_DIR/pki
LOGS=$CLUSTER_DIR/logs
PIDS=$CLUSTER_DIR/pids
ADMIN_KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

gen_cert() { # name subject [san] ; signed by the cluster CA
  local name=$1 subj=$2 san=${3:-}
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  local ext=$PKI/$name.ext
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"; else echo "extendedKeyUsage=clientAuth"; fi
  } > "$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 2 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
}

write_kubeconfig() { # file user cert-name
  local file=$1 user=$2 cert=$3 server
  server=$(cat "$CLUSTER_DIR/server")
  cat > "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: iomesh-test
  cluster:
    server: $server
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI/$cert.crt
    client-key: $PKI/$cert.key
contexts:
- name: $user@iomesh-test
  context: {cluster: iomesh-test, user: $user}
current-context: $user@iomesh-test
KC
}

start() { # name args...
  local name=$1; shift
  printf '%q ' "$@" > "$PIDS/$name.cmd"
  "$@" >>"$LOGS/$name.log" 2>&1 &
  echo $! > "$PIDS/$name.pid"
}

# restart_component kills a component with SIGKILL (a crash, not a graceful stop, which for
# kube-apiserver waits a minute for watches to drain), waits DELAY seconds and starts it again
# with the same arguments (fault tests: clients must resume their watches).
restart_component() {
  local name=$1 delay=${2:-2} pid
  pid=$(cat "$PIDS/$name.pid")
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  log "$name stopped; starting it again in ${delay}s"
  sleep "$delay"
  eval "start $name $(cat "$PIDS/$name.cmd")"
  K8S_KUBECTL=${KUBECTL:-kubectl}
  [ "$name" = kube-apiserver ] && wait_ready
  log "$name is back"
}

running() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

tails() {
  for f in "$LOGS"/*.log; do
    [ -f "$f" ] || continue
    echo "----- last lines of $(basename "$f") -----" >&2
    tail -n "${TAIL_LINES:-25}" "$f" >&2
  done
}

wait_ready() {
  local i
  for i in $(seq 1 240); do
    if "$K8S_KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get --raw /readyz >/dev/null 2>&1; then return 0; fi
    for p in etcd kube-apiserver; do running $p || { log "$p exited"; tails; return 1; }; done
    sleep 0.25
  done
  log "kube-apiserver not ready after 60s"; tails; return 1
}

kwok_config() {
  local stages
  stages=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
  [ -d "$stages" ] || go mod download "sigs.k8s.io/kwok@$KWOK_VERSION"
  local f
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"; cat "$stages/$f"
  done
}

# kwok_exec: `kubectl exec` into the meta pods of the test namespaces runs the command on this
# machine, with the cluster's kubeconfig and the pod's namespace in its environment. The command
# the IOMesh docs run, /opt/iomesh/iomeshctl, is the stand-in built to $CLUSTER_DIR/iomeshctl:
# kwok runs in a mount namespace of its own whose /opt holds only that (kwok_namespace), so the
# machine's /opt is untouched.
kwok_exec() {
  local n
  # In iomesh-system the CSI node plugin (hostNetwork) answers cat /proc/net/fib_trie with a node
  # address outside the tests' dataCIDR (198.51.100.7, TEST-NET-2), for --exec-storage-network.
  for n in iomesh-system iomesh-cluster-1; do
    cat <<EXEC
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: $n
spec:
  selector:
    matchNamespaces: [$n]
  execs:
  - containers: [iomesh-meta]
    local:
      workDir: $CLUSTER_DIR
      envs:
      - {name: KUBECONFIG, value: $ADMIN_KUBECONFIG}
      - {name: IOMESH_NAMESPACE, value: $n}
  - containers: [csi-driver]
    local:
      envs:
      - {name: IOMESH_STORAGE_IP, value: 198.51.100.7}
EXEC
  done
  # Each chunk pod of iomesh-system answers `cat /proc/net/fib_trie` with its storage address,
  # the one the stand-in operator registers its chunk at with --storage-network (10.234.1.10+N).
  # kwok picks an Exec entry by pod name; its envs are fixed per entry.
  for n in $(seq 0 15); do
    cat <<EXEC
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Exec
metadata:
  name: iomesh-chunk-$n
  namespace: iomesh-system
spec:
  execs:
  - local:
      envs:
      - {name: IOMESH_STORAGE_IP, value: 10.234.1.$((10 + n))}
EXEC
  done
}

# privilege: how this run may change the machine: root, sudo (password-less sudo) or user.
# IOMESH_UNPRIVILEGED=1 acts as a user without either would, even as root (no routes; kwok in a
# user namespace), to try that path.
privilege() {
  if [ -n "${IOMESH_UNPRIVILEGED:-}" ]; then echo user
  elif [ "$(id -u)" = 0 ]; then echo root
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then echo sudo
  else echo user
  fi
}

# as_root runs a command with the privilege this run has (nothing for a user).
as_root() {
  case $PRIV in
    root) "$@" ;;
    sudo) sudo -n "$@" ;;
    *) return 1 ;;
  esac
}

# kwok runs in a mount namespace of its own whose /opt holds only /opt/iomesh/iomeshctl (the
# stand-in), so the machine's /opt is untouched: as root a mount namespace; otherwise an
# unprivileged user and mount namespace where the kernel allows one, or password-less sudo.
# Without any, kwok runs as it is and `kubectl exec ... /opt/iomesh/iomeshctl` fails:
# $CLUSTER_DIR/no-exec says why (the demo skips its scale-in).
opt_ns=(sh -c 'mount -t tmpfs -o size=1m,mode=755 tmpfs /opt && mkdir /opt/iomesh && ln -s "$0" /opt/iomesh/iomeshctl && exec "$@"' "$CLUSTER_DIR/iomeshctl")
userns=(unshare --user --map-root-user --mount --propagation private)
kwok_namespace() {
  kwok_ns=()
  rm -f "$CLUSTER_DIR/no-exec"
  if [ "$PRIV" = root ]; then
    kwok_ns=(unshare --mount --propagation private "${opt_ns[@]}")
  elif "${userns[@]}" sh -c 'mount -t tmpfs -o size=1m tmpfs /opt' 2>/dev/null; then
    kwok_ns=("${userns[@]}" "${opt_ns[@]}")
  elif [ "$PRIV" = sudo ]; then
    kwok_ns=(sudo -n -E unshare --mount --propagation private "${opt_ns[@]}")
  else
    echo "this kernel allows no unprivileged user namespace with a mount of its own (see sysctl user.max_user_namespaces and kernel.apparmor_restrict_unprivileged_userns) and this run has no root or password-less sudo, so kwok cannot give the meta pods a private /opt/iomesh/iomeshctl: kubectl exec into them fails" > "$CLUSTER_DIR/no-exec"
    log "$(cat "$CLUSTER_DIR/no-exec")"
  fi
}

# net_py MODE ARGS: the address arithmetic, over what `ip` says (python3's ipaddress).
#   check SERVICE POD  refuses ranges that are not networks, overlap each other, or overlap a
#                      route (any table, any type but the default route) or an address of this
#                      machine; an unreachable route of exactly the range in the main table is
#                      not an overlap (a run before this one left it: it is left alone)
#   present CIDR       exit 0 when the main table has an unreachable route of exactly CIDR
#   first CIDR         the first address of CIDR (the API server's Service address)
net_py() {
  python3 - "$@" <<'PY'
import ipaddress, subprocess, sys

TYPES = {"unicast", "unreachable", "blackhole", "prohibit", "local", "broadcast", "throw", "nat", "anycast", "multicast"}

def routes():
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if not f:
            continue
        kind = "unicast"
        if f[0] in TYPES:
            kind, f = f[0], f[1:]
        if not f or f[0] == "default" or line[0].isspace():
            continue  # the default route (where an address goes without a more specific one), or a nexthop
        table = f[f.index("table") + 1] if "table" in f else "main"
        yield line.strip(), kind, ipaddress.ip_network(f[0], strict=False), table

def addresses():
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if "inet" in f:
            yield f[1].rstrip(":"), ipaddress.ip_interface(f[f.index("inet") + 1]).network, f[f.index("inet") + 1]

def ours(kind, net, table, cidr):
    return kind == "unreachable" and table == "main" and net == cidr

mode, args = sys.argv[1], sys.argv[2:]
if mode == "first":
    print(ipaddress.ip_network(args[0])[1])
elif mode == "present":
    cidr = ipaddress.ip_network(args[0])
    sys.exit(0 if any(ours(k, n, t, cidr) for _, k, n, t in routes()) else 1)
elif mode == "check":
    names = ["Service range (IOMESH_SERVICE_CIDR)", "pod range (IOMESH_POD_CIDR)"]
    nets, bad = [], []
    for name, arg in zip(names, args):
        try:
            nets.append(ipaddress.IPv4Network(arg))
        except ValueError as e:
            sys.exit(f"the {name} {arg} is not an IPv4 network: {e}")
    if nets[0].overlaps(nets[1]):
        sys.exit(f"the {names[0]} {nets[0]} and the {names[1]} {nets[1]} overlap")
    rs, addrs = list(routes()), list(addresses())
    for name, net in zip(names, nets):
        for line, kind, rnet, table in rs:
            if rnet.overlaps(net) and not ours(kind, rnet, table, net):
                bad.append(f"the {name} {net} overlaps the route '{line}'")
        for dev, anet, addr in addrs:
            if anet.overlaps(net):
                bad.append(f"the {name} {net} overlaps the address {addr} on {dev}")
    if bad:
        sys.exit("; ".join(bad) + ". A VPN, or a proxy in fake-IP mode (Clash/Mihomo 198.18.0.1/16, Surge 198.18.0.0/15), may use these addresses: "
                 "choose ranges nothing on this machine uses with IOMESH_SERVICE_CIDR and IOMESH_POD_CIDR. Nothing was changed")
else:
    sys.exit(f"net_py: unknown mode {mode}")
PY
}

# check_ranges refuses, naming the overlap, before anything changes.
check_ranges() {
  command -v ip >/dev/null || need_debian_file /usr/sbin/ip iproute2
  local err
  err=$(net_py check "$SERVICE_CIDR" "$POD_CIDR" 2>&1) || die "$err"
}

# keep_local: an unreachable route for each range (root, or sudo without a password), so a call
# to a Service or pod address of the cluster (the API server's, to a webhook or an aggregated API
# at a Service) fails here at once instead of leaving through the default route. The routes this
# run adds are listed in $CLUSTER_DIR/routes, which `down` reads to remove them; a route that was
# already there is left alone, unless a run in this directory added it and never came down
# (ADOPTED, the list the directory held before `up` recreated it).
keep_local() {
  local adopted=$1 cidr added=() kept=()
  rm -f "$CLUSTER_DIR/no-routes"
  for cidr in "$SERVICE_CIDR" "$POD_CIDR"; do
    if net_py present "$cidr"; then
      grep -qx "$cidr" <<<"$adopted" || { kept+=("$cidr"); continue; }
    elif [ "$PRIV" = user ]; then
      continue
    elif ! as_root ip route add unreachable "$cidr"; then
      # Another run may have added it meanwhile: then it is theirs.
      net_py present "$cidr" || die "cannot add 'ip route add unreachable $cidr'"
      kept+=("$cidr"); continue
    fi
    added+=("$cidr")
    printf '%s\n' "$cidr" >> "$CLUSTER_DIR/routes"
  done
  [ ${#added[@]} -eq 0 ] || log "unreachable routes for ${added[*]} added on this machine (\`make demo-down\` or \`hack/cluster.sh down\` removes them)"
  [ ${#kept[@]} -eq 0 ] || log "unreachable routes for ${kept[*]} were already there: left as they are"
  if [ "$PRIV" = user ] && [ $((${#added[@]} + ${#kept[@]})) -lt 2 ]; then
    local why="no root and no password-less sudo"
    [ -z "${IOMESH_UNPRIVILEGED:-}" ] || why="IOMESH_UNPRIVILEGED is set"
    echo "$why: no unreachable routes for $SERVICE_CIDR (Services) and $POD_CIDR (pods), so a call to one of the cluster's Service or pod addresses from this machine times out instead of failing at once; going on" > "$CLUSTER_DIR/no-routes"
    log "$(cat "$CLUSTER_DIR/no-routes")"
  fi
}

# release_local removes the routes this cluster directory lists as added (keep_local), and only
# those; a route that is gone already is fine.
release_local() {
  local f=$CLUSTER_DIR/routes cidr removed=() left=()
  [ -f "$f" ] || return 0
  while read -r cidr; do
    [ -n "$cidr" ] || continue
    net_py present "$cidr" || continue
    if as_root ip route del unreachable "$cidr"; then removed+=("$cidr"); else left+=("$cidr"); fi
  done < "$f"
  [ ${#removed[@]} -eq 0 ] || log "unreachable routes for ${removed[*]} removed"
  if [ ${#left[@]} -gt 0 ]; then
    printf '%s\n' "${left[@]}" > "$f"
    log "could not remove the unreachable routes for ${left[*]}: as root, run 'ip route del unreachable CIDR' for each"
    return 1
  fi
  rm -f "$f"
}

# net_up is what `up` does to the machine, before it starts anything: it checks the ranges,
# recreates the cluster directory (taking over the routes a run there added and never removed),
# writes the ranges to $CLUSTER_DIR/ranges, adds the routes and chooses kwok's namespace.
net_up() {
  check_ranges
  local adopted
  adopted=$(cat "$CLUSTER_DIR/routes" 2>/dev/null || true)
  rm -rf "$CLUSTER_DIR"
  mkdir -p "$PKI" "$LOGS" "$PIDS" "$CLUSTER_DIR/etcd"
  printf 'service %s\npod %s\n' "$SERVICE_CIDR" "$POD_CIDR" > "$CLUSTER_DIR/ranges"
  keep_local "$adopted"
  kwok_namespace
}

up() {
  "$here/build-k8s.sh"
  "$here/build-tools.sh"
  if running kube-apiserver; then log "cluster already running ($CLUSTER_DIR)"; return 0; fi
  net_up
  log "generating certificates"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=iomesh-test-ca" -days 2 -out "$PKI/ca.crt" 2>/dev/null
  gen_cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,IP:$(net_py first "$SERVICE_CIDR"),DNS:kubernetes.default.svc"
  gen_cert admin "/O=system:masters/CN=admin"
  gen_cert viewer "/CN=iomesh-viewer"
  gen_cert scaler "/CN=iomesh-scaler"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null

  local etcd_port peer_port api_port
  etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)
  echo "https://127.0.0.1:$api_port" > "$CLUSTER_DIR/server"
  write_kubeconfig "$ADMIN_KUBECONFIG" admin admin
  write_kubeconfig "$CLUSTER_DIR/viewer.kubeconfig" iomesh-viewer viewer
  write_kubeconfig "$CLUSTER_DIR/scaler.kubeconfig" iomesh-scaler scaler

  log "starting etcd on 127.0.0.1:$etcd_port"
  start etcd "$K8S_BIN/etcd" --name default --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "default=http://127.0.0.1:$peer_port" --unsafe-no-fsync --quota-backend-bytes=4294967296
  # What the plugin's own users do, at level Metadata, for the test that holds the roles exact
  # (test/e2e/roles_test.go); nobody else's requests are logged.
  cat > "$CLUSTER_DIR/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [iomesh-viewer, iomesh-scaler]
  - level: None
EOF
  log "starting kube-apiserver on 127.0.0.1:$api_port"
  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --authorization-mode Node,RBAC --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged=true --profiling=false --endpoint-reconciler-type=none \
    --audit-policy-file "$CLUSTER_DIR/audit-policy.yaml" --audit-log-path "$CLUSTER_DIR/audit.log" \
    --audit-log-format json --audit-log-mode blocking
  K8S_KUBECTL=${KUBECTL:-kubectl}
  wait_ready
  log "starting kube-controller-manager, kube-scheduler and kwok"
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig "$ADMIN_KUBECONFIG" \
    --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller'
  start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$ADMIN_KUBECONFIG" \
    --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false
  kwok_config > "$CLUSTER_DIR/kwok-stages.yaml"
  kwok_exec > "$CLUSTER_DIR/kwok-exec.yaml"
  # kwok looks exec commands up on its own PATH: the stand-in cat comes first there.
  mkdir -p "$CLUSTER_DIR/standin-bin"
  cp "$here/../test/standin/cat/cat" "$CLUSTER_DIR/standin-bin/cat"
  # The API server reaches kwok's kubelet endpoint (exec) at the node's address and the port
  # kwok publishes with --node-port: one fixed loopback port for both, since that endpoint has no
  # authentication.
  local kubelet_port
  kubelet_port=$(free_port)
  start kwok "${kwok_ns[@]}" env "PATH=$CLUSTER_DIR/standin-bin:$PATH" "$KWOK_BIN/kwok" --kubeconfig "$ADMIN_KUBECONFIG" --manage-all-nodes \
    -c "$CLUSTER_DIR/kwok-stages.yaml" -c "$CLUSTER_DIR/kwok-exec.yaml" --cidr "$POD_CIDR" --node-ip 127.0.0.1 \
    --server-address "127.0.0.1:$kubelet_port" --node-port "$kubelet_port" \
    --node-lease-duration-seconds 40
  # The default ServiceAccount appears once the controller-manager runs; pods need it.
  local i
  for i in $(seq 1 120); do
    if "$K8S_KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" -n default get serviceaccount default >/dev/null 2>&1; then break; fi
    for p in kube-controller-manager kube-scheduler kwok; do running $p || { log "$p exited"; tails; return 1; }; done
    sleep 0.25
  done
  log "cluster up: KUBECONFIG=$ADMIN_KUBECONFIG"
}

nodes() { # N: make nodes kwok-node-0..N-1 exist (extra ones are kept)
  local n=$1 i
  K8S_KUBECTL=${KUBECTL:-kubectl}
  {
    for i in $(seq 0 $((n - 1))); do
      cat <<NODE
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok, node-role.kubernetes.io/worker: ""}
status:
  allocatable: {cpu: "64", memory: 512Gi, pods: "1100"}
  capacity: {cpu: "64", memory: 512Gi, pods: "1100"}
NODE
    done
  } | "$K8S_KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" apply -f - >/dev/null
  for i in $(seq 1 120); do
    local ready
    ready=$("$K8S_KUBECTL" --kubeconfig "$ADMIN_KUBECONFIG" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True || true)
    [ "$ready" -ge "$n" ] && { log "$ready nodes Ready"; return 0; }
    sleep 0.25
  done
  log "nodes did not turn Ready"; tails; return 1
}

down() {
  local p
  for p in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if [ -f "$PIDS/$p.pid" ]; then
      kill "$(cat "$PIDS/$p.pid")" 2>/dev/null || true
    fi
  done
  for p in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if [ -f "$PIDS/$p.pid" ]; then
      local pid i
      pid=$(cat "$PIDS/$p.pid")
      for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$PIDS/$p.pid"
    fi
  done
  rm -rf "$CLUSTER_DIR/etcd"
  release_local
  log "cluster stopped (logs kept in $LOGS)"
}

status() {
  local p
  for p in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
    if running $p; then echo "$p: running (pid $(cat "$PIDS/$p.pid"))"; else echo "$p: stopped"; fi
  done
  [ -f "$CLUSTER_DIR/server" ] && echo "server: $(cat "$CLUSTER_DIR/server")"
  echo "admin kubeconfig: $ADMIN_KUBECONFIG"
}

PRIV=$(privilege)
case "${1:-}" in
  up) up ;;
  down) down ;;
  nodes) nodes "${2:?usage: cluster.sh nodes N}" ;;
  status) status ;;
  logs) tails ;;
  env) echo "export KUBECONFIG=$ADMIN_KUBECONFIG" ;;
  # What up and down do to the machine, alone (test/localnet).
  net-up) net_up ;;
  net-down) release_local ;;
  restart-apiserver) restart_component kube-apiserver "${2:-2}" ;;
  restart) restart_component "${2:?usage: cluster.sh restart COMPONENT [DELAY]}" "${3:-0}" ;;
  *) echo "usage: $0 up|down|nodes N|status|logs|env|net-up|net-down|restart-apiserver [DELAY]|restart COMPONENT [DELAY]" >&2; exit 2 ;;
esac
