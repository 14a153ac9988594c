#!/usr/bin/env bash
# Starts a local, loopback-only Kubernetes cluster for the e2e tests with
# `kwokctl --runtime binary`, using only binaries built by
# ../toolchain/build.sh (nothing is downloaded):
#   etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok
#   - one fake node (kwok) that becomes Ready; pods scheduled on it become Running/Ready
#   - a default StorageClass "standard" (no provisioner, Immediate binding) and
#     E2E_PV_COUNT hostPath PersistentVolumes of that class, so StatefulSet
#     volumeClaimTemplates PVCs (with or without a class) bind
#   - kwok's ClusterPortForward/PortForward CRDs; with PG_TARGET_PORT set, a
#     ClusterPortForward "postgres" forwards port 5432 of every pod to
#     127.0.0.1:$PG_TARGET_PORT (e.g. a PostgreSQL started on the host)
#
# Safe to rerun: a stale cluster of the same name is deleted first.
#
# Env (all optional):
#   SALES_DB_E2E_CACHE  toolchain cache (default ~/.cache/sales-db-e2e)
#   E2E_WORKDIR         where run state goes (default $SALES_DB_E2E_CACHE/run)
#   E2E_CLUSTER_NAME    kwokctl cluster name (default sales-db-e2e)
#   E2E_NODE_NAME       fake node name (default kwok-node-0)
#   E2E_PV_COUNT        number of 10Gi PVs (default 8)
#   PG_TARGET_PORT      if set, create the ClusterPortForward described above
#   PG_FORWARD_NAMESPACES  comma-separated namespaces the forward is limited to (default: all)
#
# Output: $E2E_WORKDIR/kubeconfig (context kwok-$E2E_CLUSTER_NAME) and
# $E2E_WORKDIR/cluster.env (KUBECONFIG=..., E2E_CLUSTER_NAME=..., KWOK_WORKDIR=...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"

E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
E2E_CLUSTER_NAME=${E2E_CLUSTER_NAME:-sales-db-e2e}
E2E_NODE_NAME=${E2E_NODE_NAME:-kwok-node-0}
E2E_PV_COUNT=${E2E_PV_COUNT:-8}
KUBECONFIG=$E2E_WORKDIR/kubeconfig
export KUBECONFIG
# kwokctl keeps each cluster's files (pki, etcd data, logs, pid files) here.
export KWOK_WORKDIR=$E2E_WORKDIR/kwok
start=$SECONDS

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for b in kwokctl kwok etcd kube-apiserver kube-controller-manager kube-scheduler; do
  if [[ ! -x $E2E_BIN/$b ]]; then
    log "$E2E_BIN/$b is missing: run $HERE/../toolchain/build.sh first"
    exit 1
  fi
done
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
if [[ -z $KUBECTL ]]; then
  log "kubectl not found on PATH"
  exit 1
fi
mkdir -p "$E2E_WORKDIR" "$KWOK_WORKDIR"

# 1. Remove a stale cluster (crashed run) of the same name.
"$HERE/down.sh" >/dev/null 2>&1 || true
mkdir -p "$E2E_WORKDIR" "$KWOK_WORKDIR"
rm -f "$KUBECONFIG"

# 2. Create the cluster. Every binary is a local path; kwokctl symlinks local
#    paths instead of downloading (and the only kube version it could guess is
#    overridden by the version of the binaries it runs).
cat >"$E2E_WORKDIR/kwokctl.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: v$KUBE_VERSION
  etcdBinary: $E2E_BIN/etcd
  kubeApiserverBinary: $E2E_BIN/kube-apiserver
  kubeControllerManagerBinary: $E2E_BIN/kube-controller-manager
  kubeSchedulerBinary: $E2E_BIN/kube-scheduler
  kwokControllerBinary: $E2E_BIN/kwok
  kubectlBinary: $KUBECTL
  enableCRDs:
  - ClusterPortForward
  - PortForward
EOF
log "creating cluster $E2E_CLUSTER_NAME (workdir $KWOK_WORKDIR)"
if ! "$E2E_BIN/kwokctl" create cluster \
  --name "$E2E_CLUSTER_NAME" \
  --config "$E2E_WORKDIR/kwokctl.yaml" \
  --kubeconfig "$KUBECONFIG" \
  --extra-args "kube-apiserver=kubelet-preferred-address-types=InternalIP" \
  --wait 120s >"$E2E_WORKDIR/kwokctl-create.log" 2>&1; then
  log "kwokctl create cluster failed:"
  cat "$E2E_WORKDIR/kwokctl-create.log" >&2
  exit 1
fi
kubectl config use-context "kwok-$E2E_CLUSTER_NAME" >/dev/null

cat >"$E2E_WORKDIR/cluster.env" <<EOF
export KUBECONFIG=$KUBECONFIG
export E2E_CLUSTER_NAME=$E2E_CLUSTER_NAME
export KWOK_WORKDIR=$KWOK_WORKDIR
EOF

# 3. Wait for the API (and the kwok CRDs, which the kwok controller installs).
for _ in $(seq 1 120); do
  kubectl get --raw /readyz >/dev/null 2>&1 &&
    kubectl get crd clusterportforwards.kwok.x-k8s.io >/dev/null 2>&1 && break
  sleep 0.5
done
kubectl wait --for=condition=Established --timeout=60s \
  crd/clusterportforwards.kwok.x-k8s.io crd/portforwards.kwok.x-k8s.io >/dev/null

# 4. The fake node. Its only address is 127.0.0.1 (the apiserver proxies
#    port-forward/exec/logs to the kwok controller, which serves the kubelet API
#    on 127.0.0.1:<kwok port>, see kubeletEndpoint filled in by kwok).
log "creating node $E2E_NODE_NAME"
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $E2E_NODE_NAME
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: $E2E_NODE_NAME
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
status:
  addresses:
  - type: InternalIP
    address: 127.0.0.1
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
EOF

# 5. Storage: default StorageClass + pre-created hostPath PVs.
log "creating StorageClass standard and $E2E_PV_COUNT PersistentVolumes"
{
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: Immediate
EOF
  for i in $(seq 0 $((E2E_PV_COUNT - 1))); do
    mkdir -p "$E2E_WORKDIR/pv/pv-$i"
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: e2e-pv-$i
  labels:
    e2e.sales-db/pv: "true"
spec:
  capacity:
    storage: 10Gi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  volumeMode: Filesystem
  hostPath:
    path: $E2E_WORKDIR/pv/pv-$i
    type: DirectoryOrCreate
EOF
  done
} | kubectl apply -f - >/dev/null

# 6. Optional forward of every pod's port 5432 to a PostgreSQL on the host.
if [[ -n ${PG_TARGET_PORT:-} ]]; then
  "$HERE/forward-postgres.sh" "$PG_TARGET_PORT"
fi

kubectl wait --for=condition=Ready --timeout=60s "node/$E2E_NODE_NAME" >/dev/null
log "cluster ready in $((SECONDS - start))s"
echo "export KUBECONFIG=$KUBECONFIG"
