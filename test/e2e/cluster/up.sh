#!/usr/bin/env bash
# Starts a local Kubernetes cluster of one real node for the e2e tests, from binaries built by
# ../toolchain/build.sh and images built by ../image/build.sh (nothing is downloaded):
#   - the control plane: etcd + kube-apiserver + kube-controller-manager + kube-scheduler, launched by
#     `kwokctl --runtime binary` with its kwok controller disabled (it would fake the real node's pods), every
#     listener on 127.0.0.1 but the apiserver's, which also listens and is advertised on the node's address (pods
#     reach it through the Service default/kubernetes); it reaches kubelet at the node's InternalIP with a client
#     certificate;
#   - the node: containerd + runc + a bridge CNI + kubelet + kube-proxy + CoreDNS (node-up.sh), Ready, and a pod
#     reaching another through a Service, by its ClusterIP and by its names (service-check.sh);
#   - storage: a default StorageClass "standard" (no provisioner, WaitForFirstConsumer) and E2E_PV_COUNT `local`
#     PersistentVolumes of 10Gi on that node, to which kubelet applies a pod's fsGroup like to any real disk.
#
# Safe to rerun: a stale cluster of the same name is deleted first.
#
# Env (all optional):
#   SALES_DB_E2E_CACHE  toolchain cache (default ~/.cache/sales-db-e2e)
#   E2E_WORKDIR         where run state goes (default $SALES_DB_E2E_CACHE/run)
#   E2E_CLUSTER_NAME    kwokctl cluster name (default sales-db-e2e)
#   E2E_NODE_NAME       the node's name (default sales-db-e2e-node)
#   E2E_PV_COUNT        number of 10Gi PVs (default 18: 14 before CloudNativePG, 3 for a
#                       3-instance Cluster, and 1 for its backups)
#   and what node-up.sh reads (the image archives, E2E_NODE_IP).
#
# Output: $E2E_WORKDIR/kubeconfig (context kwok-$E2E_CLUSTER_NAME) and
# $E2E_WORKDIR/cluster.env (KUBECONFIG=..., E2E_CLUSTER_NAME=..., KWOK_WORKDIR=..., E2E_NODE_NAME=...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
LOG_NAME=cluster

E2E_PV_COUNT=${E2E_PV_COUNT:-18}
# The small volume's filesystem: initdb takes about 47 MiB of it.
E2E_SMALL_PV_SIZE=${E2E_SMALL_PV_SIZE:-96Mi}
start=$SECONDS

for b in kwokctl etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  [[ -x $E2E_BIN/$b ]] || fail "$E2E_BIN/$b is missing: run $HERE/../toolchain/build.sh first"
done
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
[[ -n $KUBECTL ]] || fail "kubectl not found on PATH"
mkdir -p "$E2E_WORKDIR" "$KWOK_WORKDIR"

# 1. Remove a stale cluster (crashed run) of the same name.
"$HERE/down.sh" >/dev/null 2>&1 || true
mkdir -p "$E2E_WORKDIR" "$KWOK_WORKDIR"
rm -f "$KUBECONFIG"

# 2. Create the control plane. Every binary is a local path; kwokctl symlinks local
#    paths instead of downloading (and the only kube version it could guess is
#    overridden by the version of the binaries it runs). No kwok controller: it
#    manages every node, the real one too, and would fake its pods' status.
# The apiserver listens on every address (kwokctl's bindAddress, 127.0.0.1, stays for etcd and the other components)
# and is advertised on the node's: pods reach it through the Service default/kubernetes ($KUBERNETES_SERVICE_IP:443,
# translated by kube-proxy to that address), whose address its certificate names, and it calls webhooks through
# their Services' ClusterIPs (kube-proxy's rules on this host). kwokctl's one certificate (the admin's, also the
# serving certificate) names this machine's addresses, the kubernetes.default.svc names and the extra SANs.
NODE_IP=$(node_ip)
cat >"$E2E_WORKDIR/kwokctl.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverCertSANs: [$KUBERNETES_SERVICE_IP, $NODE_IP]
  kubeVersion: v$KUBE_VERSION
  etcdBinary: $E2E_BIN/etcd
  kubeApiserverBinary: $E2E_BIN/kube-apiserver
  kubeControllerManagerBinary: $E2E_BIN/kube-controller-manager
  kubeSchedulerBinary: $E2E_BIN/kube-scheduler
  kubectlBinary: $KUBECTL
  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  disable:
  - kwok-controller
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - {key: bind-address, value: 0.0.0.0, override: true}
  - {key: advertise-address, value: "$NODE_IP"}
  - {key: kubelet-preferred-address-types, value: InternalIP}
  - {key: kubelet-client-certificate, value: "$PKI/admin.crt"}
  - {key: kubelet-client-key, value: "$PKI/admin.key"}
  - {key: service-cluster-ip-range, value: "$SERVICE_SUBNET"}
EOF
log "creating cluster $E2E_CLUSTER_NAME (workdir $KWOK_WORKDIR)"
if ! timeout -k 10 300 "$E2E_BIN/kwokctl" create cluster \
  --name "$E2E_CLUSTER_NAME" \
  --config "$E2E_WORKDIR/kwokctl.yaml" \
  --kubeconfig "$KUBECONFIG" \
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
export E2E_NODE_NAME=$NODE_NAME
EOF

# 3. Wait for the API.
for _ in $(seq 1 120); do
  kubectl get --raw /readyz --request-timeout=5s >/dev/null 2>&1 && break
  sleep 0.5
done
kubectl get --raw /readyz >/dev/null

# 4. The real node, and Services on it.
"$HERE/node-up.sh"
"$HERE/service-check.sh"

# 5. Storage: a default StorageClass and local PVs on the node. The folders are root's 0755, as a fresh disk's
#    root would be: kubelet gives the pod's fsGroup access to them (a hostPath volume would get no fsGroup).
log "creating StorageClasses standard, expandable and small, $E2E_PV_COUNT local PersistentVolumes and a small one"
# The small volume: an ext4 filesystem of its own on a loop device (down.sh unmounts it).
small_pv=$E2E_WORKDIR/pv/small
mkdir -p "$small_pv"
truncate -s "${E2E_SMALL_PV_SIZE%i}" "$E2E_WORKDIR/pv/small.img"
mkfs.ext4 -q -F -m 0 "$E2E_WORKDIR/pv/small.img"
mount -o loop "$E2E_WORKDIR/pv/small.img" "$small_pv"
# local_pv NAME CLASS CAPACITY PATH: a `local` PersistentVolume of a folder on the node.
local_pv() {
  cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $1
  labels:
    e2e.sales-db/pv: "true"
spec:
  capacity:
    storage: $3
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $2
  volumeMode: Filesystem
  local:
    path: $4
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}
EOF
}
# storage_class NAME DEFAULT EXPANDABLE: a class of local volumes, bound when a pod first uses them.
storage_class() {
  cat <<EOF
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $1
  annotations:
    storageclass.kubernetes.io/is-default-class: "$2"
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: $3
EOF
}
{
  storage_class standard true false
  # One small volume on a filesystem of its own, which a load can fill (the volume-full step).
  storage_class small false false
  # For the e2e stack, whose volume the day-two steps grow.
  storage_class expandable false true
  for i in $(seq 0 $((E2E_PV_COUNT - 1))); do
    # The last two PVs are of class expandable.
    class=standard
    ((i >= E2E_PV_COUNT - 2)) && class=expandable
    mkdir -p "$E2E_WORKDIR/pv/pv-$i"
    local_pv "e2e-pv-$i" "$class" 10Gi "$E2E_WORKDIR/pv/pv-$i"
  done
  local_pv e2e-pv-small small "$E2E_SMALL_PV_SIZE" "$small_pv"
} | kubectl apply -f - >/dev/null

log "cluster ready in $((SECONDS - start))s"
echo "export KUBECONFIG=$KUBECONFIG"
