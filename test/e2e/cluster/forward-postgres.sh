#!/usr/bin/env bash
# Makes port 5432 of every pod on the kwok node reachable through
# `kubectl port-forward` by forwarding it to a PostgreSQL on the host:
#   kwok ClusterPortForward "postgres": pod:5432 -> 127.0.0.1:TARGET_PORT
#
# usage: forward-postgres.sh TARGET_PORT [NAME]
# Env: KUBECONFIG (default $E2E_WORKDIR/kubeconfig), PG_FORWARD_NAMESPACES
#      (comma-separated; default: pods of all namespaces), PG_POD_PORT (default 5432).
# Idempotent (kubectl apply); rerun with another port to retarget.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"
E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
export KUBECONFIG=${KUBECONFIG:-$E2E_WORKDIR/kubeconfig}

target=${1:?usage: $0 TARGET_PORT [NAME]}
name=${2:-postgres}
pod_port=${PG_POD_PORT:-5432}
selector=""
if [[ -n ${PG_FORWARD_NAMESPACES:-} ]]; then
  selector="  selector:
    matchNamespaces: [${PG_FORWARD_NAMESPACES}]"
fi
kubectl apply -f - >/dev/null <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata:
  name: $name
spec:
$selector
  forwards:
  - ports: [$pod_port]
    target:
      port: $target
      address: 127.0.0.1
YAML
echo "[cluster] ClusterPortForward/$name: pod port $pod_port -> 127.0.0.1:$target" >&2
