# Names and paths of the e2e node, shared by node-up.sh, node-down.sh and up.sh (sourced after versions.sh).
# shellcheck shell=bash disable=SC2034
E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
E2E_CLUSTER_NAME=${E2E_CLUSTER_NAME:-sales-db-e2e}
NODE_NAME=${E2E_NODE_NAME:-sales-db-e2e-node}
NODE_DIR=$E2E_WORKDIR/node
export KUBECONFIG=$E2E_WORKDIR/kubeconfig
# kwokctl's certificates: the cluster CA, and the admin certificate the apiserver also presents to kubelet.
PKI=$E2E_WORKDIR/kwok/clusters/$E2E_CLUSTER_NAME/pki
CONTAINERD_SOCK=$NODE_DIR/containerd/containerd.sock
# Host-wide names (hence the lock in node-up.sh).
NODE_LOCK=/run/lock/sales-db-e2e-node.lock
CNI_NETWORK=sales-db-e2e
CNI_BRIDGE=salesdbe2e0
POD_SUBNET=10.213.0.0/24
ctr_() { ctr --address "$CONTAINERD_SOCK" "$@"; }
