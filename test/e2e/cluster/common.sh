# What every cluster script sources first: the pinned versions, the shared helpers (../lib.sh), and the names and
# paths of the e2e cluster and its node.
# shellcheck shell=bash disable=SC2034
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/../toolchain/versions.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
E2E_CLUSTER_NAME=${E2E_CLUSTER_NAME:-sales-db-e2e}
NODE_NAME=${E2E_NODE_NAME:-sales-db-e2e-node}
NODE_DIR=$E2E_WORKDIR/node
export KUBECONFIG=$E2E_WORKDIR/kubeconfig
# kwokctl keeps each cluster's files (pki, etcd data, logs, pid files) here.
export KWOK_WORKDIR=$E2E_WORKDIR/kwok
# kwokctl's certificates: the cluster CA, and the admin certificate the apiserver also presents to kubelet.
PKI=$KWOK_WORKDIR/clusters/$E2E_CLUSTER_NAME/pki
CONTAINERD_SOCK=$NODE_DIR/containerd/containerd.sock
# Host-wide names (hence the lock in node-up.sh).
NODE_LOCK=/run/lock/sales-db-e2e-node.lock
CNI_NETWORK=sales-db-e2e
CNI_BRIDGE=salesdbe2e0
POD_SUBNET=10.213.0.0/24
# The apiserver's Service range (ClusterIPs): the pods' one route off their subnet, through kube-proxy's rules.
SERVICE_SUBNET=10.213.1.0/24
# ClusterIPs of the range: the apiserver's own Service default/kubernetes (the range's first address, in the
# apiserver's certificate), and kube-system/kube-dns, the pods' name server (kubelet's clusterDNS), whose one endpoint
# is CoreDNS on the node's address (node-up.sh).
KUBERNETES_SERVICE_IP=10.213.1.1
DNS_SERVICE_IP=10.213.1.10
CLUSTER_DOMAIN=cluster.local
# The node's address: this machine's own interface address (kubelet refuses a loopback one; traffic to it never leaves
# the machine). The apiserver listens and is advertised on it too, for the pods.
node_ip() {
  local ip=${E2E_NODE_IP:-$(ip -4 -o addr show scope global | awk '{sub(/\/.*/, "", $4); print $4; exit}')}
  [[ -n $ip ]] || fail "no global IPv4 address on this machine for the node (set E2E_NODE_IP)"
  echo "$ip"
}
ctr_() { timeout -k 2 30 ctr --address "$CONTAINERD_SOCK" "$@"; }

# Processes whose command line names FOLDER/ (a crash may have lost a pid file), this script's own excepted.
pids_naming() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [[ $pid == "$$" ]] && continue
    { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF -- "$1/" && echo "$pid"
  done
  return 0
}
