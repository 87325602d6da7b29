#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this host: up | down | status | env.
#
#   cluster/cluster.sh up      # builds if needed, starts, waits for node Ready
#   eval "$(cluster/cluster.sh env)"   # KUBECONFIG for kubectl and the tests
#   cluster/cluster.sh down    # leaves the host as found
#
# The control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler), the node (containerd, kubelet, kube-proxy) and Argo
# Rollouts' controller run as host processes under $NEOSALE_KUBE_RUN. The
# node's address sits on a bridge of its own; pods get 10.244.0.0/24 on a
# second bridge, Services 10.96.0.0/16 (clear of Dagger's 10.87.0.0/16), and
# never a way out of the machine. Images come from the project's local
# registry ($NEOSALE_REGISTRY_ADDR, plain HTTP on loopback). `down` stops
# everything and removes what `up` added: mounts, cgroups, links, iptables
# chains and rules; the sysctls the node changes are restored.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/env.sh
. "$here/env.sh"
LOG_TAG=cluster
# shellcheck source=airgap/lib.sh
. "$here/../airgap/lib.sh"

NODE_NAME=neosale-node
NODE_IP="${NEOSALE_KUBE_NODE_IP:-10.250.0.1}"
NODE_BRIDGE=nsk-node
POD_BRIDGE=nsk-pods
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
API_PORT="${NEOSALE_KUBE_API_PORT:-6443}"
ETCD_PORT="${NEOSALE_KUBE_ETCD_PORT:-23790}"
# Argo Rollouts' healthz; its metrics on the next port.
ROLLOUTS_HEALTHZ_PORT="${NEOSALE_KUBE_ROLLOUTS_PORT:-23800}"
UP_TIMEOUT="${NEOSALE_KUBE_UP_TIMEOUT:-180}"
VOLUMES=12
# The host settings the kubelet, kube-proxy and the bridges change.
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
  net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables)
# Processes in start order; `down` stops them in reverse.
DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy rollouts-controller)

run="$NEOSALE_KUBE_RUN"
bin="$NEOSALE_KUBE_PREFIX/current/bin"
pki="$run/pki"
kubeconfig="$run/admin.kubeconfig"
cri="unix://$run/containerd/containerd.sock"
rule_tag="neosale-cluster"

kubectl() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }

# --- processes ----------------------------------------------------------------

start_daemon() { # name, argv...
  local name="$1"
  shift
  log "starting $name"
  setsid "$@" >"$run/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/pids/$name.pid"
}

stop_daemon() { # name
  local pidfile="$run/pids/$1.pid"
  [ -f "$pidfile" ] || return 0
  if pid_alive; then stop_pid 20; else rm -f "$pidfile"; fi
}

daemon_alive() { local pidfile="$run/pids/$1.pid"; pid_alive; }

all_alive() {
  local d
  for d in "${DAEMONS[@]}"; do daemon_alive "$d" || return 1; done
}

# Wait for "$2" (a command) to succeed, at most $UP_TIMEOUT s; every daemon
# started so far must stay alive meanwhile.
wait_for() { # what, command...
  local what="$1" deadline=$((SECONDS + UP_TIMEOUT)) d
  shift
  until "$@" >/dev/null 2>&1; do
    for d in "${DAEMONS[@]}"; do
      if [ -f "$run/pids/$d.pid" ] && ! daemon_alive "$d"; then
        tail -n 20 "$run/logs/$d.log" >&2 || true
        die "$d exited while waiting for $what (log: $run/logs/$d.log)"
      fi
    done
    ((SECONDS < deadline)) || die "$what not ready within ${UP_TIMEOUT}s (logs: $run/logs)"
    sleep 0.5
  done
  log "$what: ready"
}

# --- host network and settings -------------------------------------------------

save_sysctls() {
  [ -f "$run/sysctls.before" ] && return 0
  local k
  for k in "${SYSCTLS[@]}"; do
    [ -e "/proc/sys/${k//.//}" ] && printf '%s=%s\n' "$k" "$(sysctl -n "$k")"
  done >"$run/sysctls.before"
}

restore_sysctls() {
  [ -f "$run/sysctls.before" ] || return 0
  local line
  while IFS= read -r line; do sysctl -q -w "$line" || log "could not restore $line"; done <"$run/sysctls.before"
  rm -f "$run/sysctls.before"
}

uplink() { ip -o route show default | awk '{print $5; exit}'; }

network_up() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
  ip addr replace "$NODE_IP/32" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  sysctl -q -w net.ipv4.ip_forward=1
  # Pods never leave the machine; between pods and the host, whatever the
  # FORWARD policy (the DROP stays first).
  local out; out="$(uplink)"
  forward_rule -o "$POD_BRIDGE" -j ACCEPT
  forward_rule -i "$POD_BRIDGE" -j ACCEPT
  [ -z "$out" ] || forward_rule -s 10.244.0.0/16 -o "$out" -j DROP
}

forward_rule() {
  iptables -C FORWARD -m comment --comment "$rule_tag" "$@" 2>/dev/null \
    || iptables -I FORWARD -m comment --comment "$rule_tag" "$@"
}

# Every rule we or the node's components added, in filter, nat and mangle:
# ours (tagged) and the KUBE-* chains. CNI-* chains are not ours: our pod
# network makes none, and the Dagger engine's containers live by theirs.
iptables_clean() {
  local ipt table chain rule
  for ipt in iptables ip6tables; do
    while read -r rule; do
      [ -z "$rule" ] || eval "$ipt ${rule/#-A/-D}" || true
    done <<<"$("$ipt" -S FORWARD 2>/dev/null | grep -- "--comment $rule_tag" || true)"
    for table in filter nat mangle; do
      # Jumps into KUBE-* chains first, then the chains themselves.
      while read -r rule; do
        [ -z "$rule" ] || eval "$ipt -t $table ${rule/#-A/-D}" || true
      done <<<"$("$ipt" -t "$table" -S 2>/dev/null | grep -E -- '^-A .* -j KUBE-' | grep -vE '^-A KUBE-' || true)"
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | sed -nE 's/^-N (KUBE-[^ ]+)$/\1/p'); do
        "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt" -t "$table" -S 2>/dev/null | sed -nE 's/^-N (KUBE-[^ ]+)$/\1/p'); do
        "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

# Pod network namespaces went with the pods (remove_pods).
network_down() {
  local link
  for link in "$POD_BRIDGE" "$NODE_BRIDGE"; do
    ip link del "$link" 2>/dev/null || true
  done
  iptables_clean
}

# --- configuration ---------------------------------------------------------------

cert() { # name, subject, [subjectAltName]
  local name="$1" subj="$2" san="${3:-}" ext
  ext="$(mktemp)"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subj" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext" "$pki/$name.csr"
}

# Self-contained (certificates inline): it works copied anywhere, e.g. into
# a container as a secret.
kubeconfig_for() { # name (a cert in $pki), file
  cat >"$2" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: neosale-local
  cluster: {server: "https://$NODE_IP:$API_PORT", certificate-authority-data: "$(b64 "$pki/ca.crt")"}
users:
- name: $1
  user: {client-certificate-data: "$(b64 "$pki/$1.crt")", client-key-data: "$(b64 "$pki/$1.key")"}
contexts:
- name: neosale-local
  context: {cluster: neosale-local, user: $1}
current-context: neosale-local
EOF
  chmod 0600 "$2"
}

b64() { base64 -w0 <"$1"; }

# A fresh PKI per cluster: the CA, every component's client certificate,
# the API server's serving certificate and the service-account key.
write_pki() {
  rm -rf "$pki"; mkdir -p "$pki"; chmod 0700 "$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=neosale-local-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "IP:10.96.0.1,IP:$NODE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert admin "/O=system:masters/CN=neosale-admin"
  cert apiserver-kubelet "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  cert kube-proxy "/CN=system:kube-proxy"
  cert rollouts-controller "/O=system:masters/CN=argo-rollouts"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local c
  for c in admin controller-manager scheduler kubelet kube-proxy rollouts-controller; do
    kubeconfig_for "$c" "$run/$c.kubeconfig"
  done
}

write_containerd_config() {
  local d="$run/containerd"
  mkdir -p "$d/certs.d/$NEOSALE_REGISTRY_ADDR" "$run/cni/net.d"
  cat >"$d/certs.d/$NEOSALE_REGISTRY_ADDR/hosts.toml" <<EOF
server = "http://$NEOSALE_REGISTRY_ADDR"
[host."http://$NEOSALE_REGISTRY_ADDR"]
  capabilities = ["pull", "resolve"]
EOF
  # restrict_oom_score_adj: this VM grants no CAP_SYS_RESOURCE.
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "neosale.local/pause:1"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$NEOSALE_PREFIX/current/bin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$NEOSALE_PREFIX/current/cni"
    conf_dir = "$run/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$d/certs.d"
EOF
  # The default route only reaches the node: the FORWARD rule keeps pods in.
  cat >"$run/cni/net.d/10-neosale.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "neosale-pods", "plugins": [
  {"type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$run/cni/ipam"}},
  {"type": "loopback"}
]}
EOF
}

write_kubelet_config() {
  # cgroupfs and failCgroupV1: PID 1 is not systemd and the host is cgroup v1.
  # Absolute eviction thresholds: the disk's "available" is a fraction of it.
  cat >"$run/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: "$cri"
oomScoreAdj: 0
maxOpenFiles: 20000
podCIDR: $POD_CIDR
resolvConf: ""
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: 1Gi, imagefs.available: 1Gi}
EOF
}

# An image of one static binary, imported into containerd: the sandbox's
# pause and the cluster DNS (no registry serves the upstream images here).
import_binary() { # name (neosale.local/NAME:1), binary
  local tmp; tmp="$(mktemp -d)"
  install -D -m 0755 "$2" "$tmp/root/$1"
  tar -C "$tmp/root" --owner=0 --group=0 --mtime=@0 -cf "$tmp/rootfs.tar" "$1"
  "$here/../.venv/bin/python" - "$tmp/rootfs.tar" "$tmp/image.tar" "$1" <<'PY'
import sys
from pathlib import Path
from neosale_airgap.oci import ImageConfig, rootfs_to_oci
rootfs, out, name = sys.argv[1:]
rootfs_to_oci(Path(rootfs), Path(out), ImageConfig(env=[], cmd=[], entrypoint=[f"/{name}"]), f"neosale.local/{name}:1")
PY
  ctr --address "$run/containerd/containerd.sock" -n k8s.io images import "$tmp/image.tar" >/dev/null
  rm -rf "$tmp"
}

# --- up ----------------------------------------------------------------------------

api_ready() { kubectl get --raw /readyz; }
node_ready() { [ "$(kubectl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
default_sa() { kubectl -n default get serviceaccount default; }
cri_ready() { "$bin/crictl" --runtime-endpoint "$cri" info; }

start_control_plane() {
  start_daemon etcd "$bin/etcd" --name "$NODE_NAME" --data-dir "$run/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --unsafe-no-fsync
  start_daemon kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet.crt" --kubelet-client-key "$pki/apiserver-kubelet.key" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC --profiling=false
  wait_for "the API server" api_ready
  start_daemon kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$run/controller-manager.kubeconfig" --bind-address 127.0.0.1 --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials --cluster-signing-cert-file "$pki/ca.crt" \
    --cluster-signing-key-file "$pki/ca.key" --profiling=false
  start_daemon kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$run/scheduler.kubeconfig" --bind-address 127.0.0.1 --leader-elect=false --profiling=false
}

# The cluster's DNS: CoreDNS as a pod behind $DNS_IP, cluster.local names
# only (nothing is forwarded out), on an unprivileged port.
start_dns() {
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: neosale:coredns}
rules:
- {apiGroups: [""], resources: [services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: neosale:coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: neosale:coredns}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:1053 {
      errors
      ready :8181
      kubernetes cluster.local in-addr.arpa ip6.arpa
      cache 5
      loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      terminationGracePeriodSeconds: 1
      securityContext: {runAsNonRoot: true, runAsUser: 65534}
      containers:
      - name: coredns
        image: neosale.local/coredns:1
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 1}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts: [{name: config, mountPath: /etc/coredns}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: 1053, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}
EOF
  wait_for "the cluster DNS" kubectl -n kube-system rollout status deployment/coredns --timeout=5s
}

# kube-proxy: NodePorts on the node address only, no conntrack or
# route_localnet changes to the host, and a Service switch programmed at once
# (one node: syncing on every change is cheap).
start_node() {
  start_daemon containerd containerd --config "$run/containerd/config.toml"
  wait_for "containerd" cri_ready
  import_binary pause "$bin/pause"
  import_binary coredns "$bin/coredns"
  start_daemon kubelet "$bin/kubelet" --config "$run/kubelet.yaml" \
    --kubeconfig "$run/kubelet.kubeconfig" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --root-dir "$run/kubelet" --cert-dir "$run/kubelet/pki"
  start_daemon kube-proxy "$bin/kube-proxy" --kubeconfig "$run/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" --proxy-mode iptables --cluster-cidr 10.244.0.0/16 \
    --iptables-min-sync-period 0s \
    --nodeport-addresses "$NODE_IP/32" --iptables-localhost-nodeports=false \
    --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 --conntrack-max-per-core=0 \
    --oom-score-adj=0 --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256
  wait_for "node $NODE_NAME" node_ready
}

start_rollouts() {
  kubectl apply --server-side -k "$NEOSALE_KUBE_PREFIX/current/crds/" >/dev/null
  kubectl create namespace argo-rollouts --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  start_daemon rollouts-controller "$bin/rollouts-controller" \
    --kubeconfig "$run/rollouts-controller.kubeconfig" --namespace argo-rollouts --leader-elect=false \
    --healthzPort "$ROLLOUTS_HEALTHZ_PORT" --metricsPort "$((ROLLOUTS_HEALTHZ_PORT + 1))"
  wait_for "the Argo Rollouts controller" curl -fsS "http://127.0.0.1:$ROLLOUTS_HEALTHZ_PORT/healthz"
}

# A default StorageClass with volumes on this host: PersistentVolumeClaims
# (StatefulSets, backups) bind to one of them. Open to every uid: hostPath
# volumes ignore fsGroup.
provision_volumes() {
  local i docs=""
  for i in $(seq 1 "$VOLUMES"); do
    mkdir -p "$run/volumes/pv$i"; chmod 0777 "$run/volumes/pv$i"
    docs+="---
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-pv$i}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $run/volumes/pv$i, type: Directory}
"
  done
  kubectl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
$docs
EOF
}

cmd_up() {
  [ "$(id -u)" = 0 ] || die "the cluster must run as root (it manages containers, mounts and networks)"
  bash "$here/build.sh"
  if all_alive; then
    log "already up: $(cmd_env)"
    return 0
  fi
  local started=$SECONDS
  cmd_down >/dev/null 2>&1 || true
  # Never a half-started cluster: a failure stops what started (logs stay).
  trap 'log "start failed: stopping what started (logs: $run/logs)"; cmd_down >/dev/null 2>&1' EXIT
  mkdir -p "$run/logs" "$run/pids"
  save_sysctls
  network_up
  write_pki
  write_containerd_config
  write_kubelet_config
  start_control_plane
  start_node
  wait_for "the default service account" default_sa
  start_dns
  provision_volumes
  start_rollouts
  trap - EXIT
  log "up in $((SECONDS - started))s: kubectl --kubeconfig $kubeconfig"
}

# --- down --------------------------------------------------------------------------

remove_pods() {
  [ -S "$run/containerd/containerd.sock" ] && daemon_alive containerd || return 0
  "$bin/crictl" --runtime-endpoint "$cri" --timeout 20s rmp --all --force >/dev/null 2>&1 || true
}

unmount_under() { # dir: every mount below it, deepest first
  awk -v d="$1" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods*; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

cmd_down() {
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    case "${DAEMONS[i]}" in
      containerd) remove_pods ;;
    esac
    stop_daemon "${DAEMONS[i]}"
  done
  # Shims outlive containerd; their containers were removed with the pods.
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $run/containerd/containerd.sock" 2>/dev/null || true
  "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  unmount_under "$run"
  remove_cgroups
  network_down
  restore_sysctls
  rm -rf "${run:?}/containerd" "$run/kubelet" "$run/etcd" "$run/pki" "$run/pids" "$run/cni" "$run/volumes" "$run"/*.kubeconfig
  log "down"
}

cmd_status() {
  if all_alive && node_ready 2>/dev/null; then
    echo "up node=$NODE_NAME api=https://$NODE_IP:$API_PORT kubeconfig=$kubeconfig"
  else
    echo "down"
    return 3
  fi
}

cmd_env() { echo "export KUBECONFIG=$kubeconfig"; }

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
