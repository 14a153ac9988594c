#!/usr/bin/env bash
# Starts the e2e cluster's one real node, as processes of the run: containerd (Debian's 1.6, with runc), and the
# kubelet, kube-proxy and CoreDNS built by ../toolchain/build.sh, joined to the control plane that up.sh started. Pods
# get a bridge network with host-local addresses whose only route off the bridge is to the Service range (kube-proxy's
# iptables rules), and the cluster's DNS (CoreDNS on the node's address, behind the Service kube-system/kube-dns);
# images come only from the local OCI archives of ../image/build.sh (there is no registry).
# Everything lives under $E2E_WORKDIR/node; node-down.sh removes it.
#
# The machine facts this follows (see test/e2e/cluster/README.md and docs/testing.md):
# - no CAP_SYS_RESOURCE: runc may not lower oom_score_adj, so containerd's CRI restricts it and kubelet uses 0;
# - cgroup v1: cgroupfs driver on both sides, failCgroupV1 false; swap is tolerated (failSwapOn false);
# - kubelet refuses a loopback node IP: the node's InternalIP is this machine's own interface address;
# - a pod's answer to a client on the same bridge must pass kube-proxy's iptables rules: br_netfilter;
# - CoreDNS answers only for the cluster's domain (NXDOMAIN for every other name: nothing is looked up outside).
#
# Env: E2E_WORKDIR, E2E_CLUSTER_NAME, E2E_NODE_NAME (see common.sh), E2E_NODE_IP (default: the first global
# IPv4 address), E2E_POSTGRES_ARCHIVE/E2E_PAUSE_ARCHIVE/E2E_EXITS_ARCHIVE/E2E_CNPG_ARCHIVE and their *_IMAGE names
# (from ../image/build.sh), E2E_POSTGRES_ALIASES (more names for the PostgreSQL image, space-separated),
# E2E_NODE_LOCK_WAIT (seconds to wait for another run's node to go, default 1800).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
LOG_NAME=node
start=$SECONDS

for v in E2E_POSTGRES_ARCHIVE E2E_POSTGRES_IMAGE E2E_PAUSE_ARCHIVE E2E_PAUSE_IMAGE E2E_EXITS_ARCHIVE E2E_EXITS_IMAGE \
  E2E_CNPG_ARCHIVE E2E_CNPG_IMAGE; do
  [[ -n ${!v:-} ]] || fail "$v is not set: eval the output of ../image/build.sh first"
done
for b in kubelet kube-proxy coredns; do
  [[ -x $E2E_BIN/$b ]] || fail "$E2E_BIN/$b is missing: run ../toolchain/build.sh $b"
done
[[ -f $PKI/ca.crt && -f $KUBECONFIG ]] || fail "no control plane in $E2E_WORKDIR: run up.sh"

# One real node per machine: the bridge, the kubepods cgroups and the pod log links are host-wide. The lock's file
# descriptor is inherited by containerd and kubelet, so the lock is held until node-down.sh has stopped them.
exec 9>"$NODE_LOCK"
if ! flock -n 9; then
  log "another e2e node is running on this machine; waiting up to ${E2E_NODE_LOCK_WAIT:-1800}s for it to go"
  flock -w "${E2E_NODE_LOCK_WAIT:-1800}" 9 || fail "gave up waiting for $NODE_LOCK"
fi

NODE_IP=$(node_ip)

"$HERE/node-down.sh" >/dev/null 2>&1 || true # what a crashed run of this workdir left
mkdir -p "$NODE_DIR"/{containerd,cni/net.d,cni/ipam,kubelet,pod-logs,certs.d/_default}

# A pod's packets to a ClusterIP are translated by kube-proxy's rules on the host; the answer of a pod on the same
# bridge goes back over the bridge, and is translated back only if bridged packets pass iptables (without it, the
# client times out). Host-wide: node-down.sh puts back a value changed here.
BRIDGE_NF=/proc/sys/net/bridge/bridge-nf-call-iptables
[[ -e $BRIDGE_NF ]] || modprobe br_netfilter 2>/dev/null || true
[[ -e $BRIDGE_NF ]] || fail "no $BRIDGE_NF: Services between pods need the br_netfilter module"
if [[ $(<"$BRIDGE_NF") != 1 ]]; then
  cat "$BRIDGE_NF" >"$NODE_DIR/bridge-nf-call-iptables.before"
  echo 1 >"$BRIDGE_NF" || fail "could not set $BRIDGE_NF to 1"
fi

# --- containerd -------------------------------------------------------------------------------------------------
# No pull is expected: every image the run uses is imported below, before kubelet starts, and the chart pulls
# IfNotPresent (run.sh checks containerd's log for PullImage). As a second guard, the `_default` host folder
# sends any registry to a closed local port (for containerd versions that read it; 1.6 may not).
printf 'server = "http://127.0.0.1:1"\n' >"$NODE_DIR/certs.d/_default/hosts.toml"
cat >"$NODE_DIR/containerd/config.toml" <<TOML
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
# /opt/containerd is a host-wide folder for plugins nobody here uses.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$E2E_PAUSE_IMAGE"
  # runc cannot set a negative oom_score_adj without CAP_SYS_RESOURCE (sandboxes fail with
  # "can't get final child's PID from pipe: EOF"): never ask for one lower than containerd's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$NODE_DIR/certs.d"
TOML

# A bridge with host-local addresses: a pod reaches its own subnet, the host on the bridge, and the Service range
# through the host (hairpin: a pod reaches itself through its Service).
cat >"$NODE_DIR/cni/net.d/10-$CNI_NETWORK.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_SUBNET" }]],
        "routes": [{ "dst": "$SERVICE_SUBNET" }],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    }
  ]
}
JSON

log "starting containerd $(containerd --version | awk '{print $3}')"
containerd --config "$NODE_DIR/containerd/config.toml" >"$NODE_DIR/containerd.log" 2>&1 &
echo $! >"$NODE_DIR/containerd.pid"
for _ in $(seq 1 100); do
  ctr_ version >/dev/null 2>&1 && break
  kill -0 "$(<"$NODE_DIR/containerd.pid")" 2>/dev/null || {
    tail -n 20 "$NODE_DIR/containerd.log" >&2
    fail "containerd exited"
  }
  sleep 0.2
done
ctr_ version >/dev/null || fail "containerd did not answer on $CONTAINERD_SOCK"

import_image() {
  local image=$1 archive=$2
  timeout -k 5 120 ctr --address "$CONTAINERD_SOCK" -n k8s.io images import --base-name "${image%:*}" "$archive" >/dev/null
  local images
  images=$(ctr_ -n k8s.io images ls -q)
  grep -qxF "$image" <<<"$images" || fail "importing $archive did not give $image (images: ${images//$'\n'/ })"
}
import_image "$E2E_PAUSE_IMAGE" "$E2E_PAUSE_ARCHIVE"
import_image "$E2E_POSTGRES_IMAGE" "$E2E_POSTGRES_ARCHIVE"
import_image "$E2E_EXITS_IMAGE" "$E2E_EXITS_ARCHIVE"
import_image "$E2E_CNPG_IMAGE" "$E2E_CNPG_ARCHIVE"
log "imported $E2E_PAUSE_IMAGE, $E2E_POSTGRES_IMAGE, $E2E_EXITS_IMAGE and $E2E_CNPG_IMAGE"
# Other names of the PostgreSQL image that pods of the run use (a restarted node must not pull them).
for alias in ${E2E_POSTGRES_ALIASES:-}; do
  ctr_ -n k8s.io images tag --force "$E2E_POSTGRES_IMAGE" "$alias" >/dev/null || fail "could not tag $alias"
done

# --- kubelet ----------------------------------------------------------------------------------------------------
: >"$NODE_DIR/resolv.conf" # the host's name servers are not the pods': only the cluster's DNS (clusterDNS) is theirs
KUBELET_PORT=$(free_port)
cat >"$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzPort: 0
# The apiserver reaches kubelet (logs, exec, port-forward) with a client certificate of the cluster's CA.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
podLogsDir: $NODE_DIR/pod-logs
resolvConf: $NODE_DIR/resolv.conf
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
staticPodPath: ""
maxPods: 20
# A shared machine: never evict the run's pods or collect its images because a disk or the memory is busy.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
log "starting kubelet v$KUBE_VERSION as node $NODE_NAME ($NODE_IP:$KUBELET_PORT)"
"$E2E_BIN/kubelet" --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$KUBECONFIG" \
  --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet/pki" --volume-plugin-dir "$NODE_DIR/volume-plugins" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1 >"$NODE_DIR/kubelet.log" 2>&1 &
echo $! >"$NODE_DIR/kubelet.pid"
for _ in $(seq 1 120); do
  kubectl get node "$NODE_NAME" --request-timeout=5s >/dev/null 2>&1 && break
  kill -0 "$(<"$NODE_DIR/kubelet.pid")" 2>/dev/null || {
    tail -n 20 "$NODE_DIR/kubelet.log" >&2
    fail "kubelet exited"
  }
  sleep 0.5
done
if ! kubectl wait --for=condition=Ready --timeout=120s "node/$NODE_NAME" >/dev/null; then
  tail -n 20 "$NODE_DIR/kubelet.log" >&2
  fail "node $NODE_NAME did not become Ready"
fi
log "node $NODE_NAME Ready in $((SECONDS - start))s:" \
  "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')"

# --- kube-proxy -------------------------------------------------------------------------------------------------
# iptables rules for every Service. Host-wide settings stay as they are: no conntrack sysctls (0: leave as is), no
# route_localnet (no NodePorts on localhost); without CAP_SYS_RESOURCE it may not lower its oom_score_adj.
cat >"$NODE_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $KUBECONFIG}
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_SUBNET
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:$(free_port)
metricsBindAddress: 127.0.0.1:$(free_port)
oomScoreAdj: 0
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
YAML
# (Rules a crashed run left would make it look synced before it is.)
timeout -k 5 60 "$E2E_BIN/kube-proxy" --cleanup >"$NODE_DIR/kube-proxy-cleanup.log" 2>&1 ||
  fail "kube-proxy --cleanup failed: see $NODE_DIR/kube-proxy-cleanup.log"
log "starting kube-proxy v$KUBE_VERSION (iptables)"
"$E2E_BIN/kube-proxy" --config "$NODE_DIR/kube-proxy.yaml" --v 1 >"$NODE_DIR/kube-proxy.log" 2>&1 &
echo $! >"$NODE_DIR/kube-proxy.pid"
# await_daemon NAME CHECK TRIES MESSAGE: runs CHECK every 0.5 s, at most TRIES times, while the daemon NAME (its pid
# and log files in the node's folder) lives; fails with the end of its log if it exits, or with MESSAGE.
await_daemon() {
  local name=$1 check=$2 tries=$3
  for _ in $(seq 1 "$tries"); do
    "$check" && return 0
    kill -0 "$(<"$NODE_DIR/$name.pid")" 2>/dev/null || {
      tail -n 20 "$NODE_DIR/$name.log" >&2
      fail "$name exited"
    }
    sleep 0.5
  done
  "$check" || {
    tail -n 20 "$NODE_DIR/$name.log" >&2
    fail "$4"
  }
}
# Synced once the rules of the apiserver's own Service are there. (Not `iptables-save | grep -q`: under pipefail,
# iptables-save writing after grep has quit fails the pipe with SIGPIPE.)
synced() { [[ $(iptables-save 2>/dev/null) == *'default/kubernetes:https'* ]]; }
await_daemon kube-proxy synced 120 "kube-proxy wrote no rules for the Service default/kubernetes in 60s"
log "kube-proxy synced"

# --- CoreDNS ----------------------------------------------------------------------------------------------------
# The cluster's DNS as a process of the node, on the node's address, answering from the API (the kubernetes plugin,
# with the run's kubeconfig) for $CLUSTER_DOMAIN only, and NXDOMAIN for any other name (nothing is forwarded: no
# name may be looked up outside this machine). Pods ask the Service kube-system/kube-dns (kubelet's clusterDNS), a
# Service without selector whose one endpoint is that address: kube-proxy translates it like any other.
kubectl apply --server-side --force-conflicts --field-manager=sales-db-e2e -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: sales-db-e2e}
addressType: IPv4
endpoints:
- addresses: [$NODE_IP]
  conditions: {ready: true}
  nodeName: $NODE_NAME
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
YAML
DNS_READY_PORT=$(free_port)
cat >"$NODE_DIR/Corefile" <<COREFILE
$CLUSTER_DOMAIN:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:$(free_port)
    ready 127.0.0.1:$DNS_READY_PORT
    kubernetes $CLUSTER_DOMAIN {
        kubeconfig $KUBECONFIG kwok-$E2E_CLUSTER_NAME
        pods insecure
    }
    cache 30
}
.:53 {
    bind $NODE_IP
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
COREFILE
log "starting CoreDNS v$COREDNS_VERSION on $NODE_IP:53 (Service $DNS_SERVICE_IP)"
"$E2E_BIN/coredns" -conf "$NODE_DIR/Corefile" >"$NODE_DIR/coredns.log" 2>&1 &
echo $! >"$NODE_DIR/coredns.pid"
# Ready once its kubernetes plugin has synced with the API.
dns_ready() { timeout -k 1 3 curl -fsS "http://127.0.0.1:$DNS_READY_PORT/ready" >/dev/null 2>&1; }
await_daemon coredns dns_ready 60 "CoreDNS was not ready in 30s"
log "CoreDNS ready; node up in $((SECONDS - start))s"
