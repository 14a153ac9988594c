#!/usr/bin/env bash
# Smoke test of the e2e cluster: a StatefulSet pod on the kwok node gets its PVC
# bound and becomes Ready, and `kubectl port-forward pod/x-0 <local>:5432`
# reaches a throwaway PostgreSQL 15 on the host through a kwok ClusterPortForward.
#
# By default it runs its own cluster (name sales-db-smoke, workdir
# $SALES_DB_E2E_CACHE/run-smoke: up.sh first, down.sh at the end), so it never
# touches a cluster an e2e run is using. SMOKE_USE_RUNNING=1 instead uses the
# cluster of E2E_WORKDIR/E2E_CLUSTER_NAME (defaults as up.sh) and only removes
# what the smoke test created in it. Cleans up everything it created.
# Env: as up.sh; SMOKE_LOCAL_PORT (default 15432, or a free port if taken).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"
if [[ ${SMOKE_USE_RUNNING:-0} == 1 ]]; then
  E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
else
  E2E_WORKDIR=$SALES_DB_E2E_CACHE/run-smoke
  export E2E_CLUSTER_NAME=sales-db-smoke
  unset PG_TARGET_PORT
fi
export E2E_WORKDIR
export KUBECONFIG=$E2E_WORKDIR/kubeconfig
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
NS=smoke-$$
start=$SECONDS

log() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started_cluster=0
tmp=$(mktemp -d /tmp/sales-db-smoke.XXXXXX)
chmod 755 "$tmp"
pf_pid=""
cleanup() {
  local rc=$?
  set +e
  [[ -n $pf_pid ]] && kill "$pf_pid" 2>/dev/null && wait "$pf_pid" 2>/dev/null
  if [[ $started_cluster == 1 ]]; then
    "$HERE/down.sh"
  else
    kubectl delete clusterportforward "smoke-$$" >/dev/null 2>&1
    kubectl delete -n "$NS" statefulset/x --wait=true --timeout=30s >/dev/null 2>&1
    kubectl delete -n "$NS" pvc --all --wait=true --timeout=30s >/dev/null 2>&1
    kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1
    # The PV the smoke test used is now Released: make it Available again.
    "$HERE/release-pvs.sh"
  fi
  if [[ -f $tmp/data/postmaster.pid ]]; then
    pg_as "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1
  fi
  rm -rf "$tmp"
  if [[ $rc == 0 ]]; then log "PASS in $((SECONDS - start))s"; else log "FAIL (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT

# PostgreSQL refuses to run as root.
pg_as() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# 1. Cluster.
if [[ ${SMOKE_USE_RUNNING:-0} == 1 ]]; then
  kubectl get --raw /readyz >/dev/null || { log "no running cluster at $KUBECONFIG"; exit 1; }
else
  started_cluster=1
  "$HERE/up.sh" >/dev/null
fi

# 2. Throwaway PostgreSQL on 127.0.0.1:<free port>.
pg_port=$(free_port)
[[ $(id -u) == 0 ]] && chown postgres: "$tmp"
pg_as "$PG_BIN/initdb" -D "$tmp/data" -U postgres --auth=trust >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; exit 1; }
pg_as "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $tmp" start >/dev/null
log "PostgreSQL started on 127.0.0.1:$pg_port"

# 3. Forward port 5432 of pods in $NS to the host PostgreSQL (created before the
#    pod, as an e2e run would: kwok needs a moment to see a new ClusterPortForward).
kubectl create namespace "$NS" >/dev/null
if [[ $started_cluster == 1 ]]; then
  PG_FORWARD_NAMESPACES=$NS "$HERE/forward-postgres.sh" "$pg_port" "smoke-$$"
else
  # In a shared cluster a ClusterPortForward of the e2e run (PG_TARGET_PORT) may
  # also match, and kwok takes the first matching one in no defined order; a
  # namespaced PortForward named like the pod always wins.
  kubectl apply -n "$NS" -f - >/dev/null <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata:
  name: x-0
spec:
  forwards:
  - ports: [5432]
    target: {port: $pg_port, address: 127.0.0.1}
EOF
  log "PortForward $NS/x-0: pod port 5432 -> 127.0.0.1:$pg_port"
fi

# 4. A StatefulSet pod with a PVC on the kwok node.
kubectl apply -n "$NS" -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: x
spec:
  serviceName: x
  replicas: 1
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: postgres
        image: postgres:15
        ports:
        - {name: postgres, containerPort: 5432}
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
EOF
for _ in $(seq 1 120); do
  kubectl get -n "$NS" pod/x-0 >/dev/null 2>&1 && break
  sleep 0.5
done
kubectl wait -n "$NS" --for=jsonpath='{.status.phase}'=Bound --timeout=60s pvc/data-x-0 >/dev/null
kubectl wait -n "$NS" --for=condition=Ready --timeout=60s pod/x-0 >/dev/null
log "pod x-0 Ready on node $(kubectl get -n "$NS" pod/x-0 -o jsonpath='{.spec.nodeName}'), PVC data-x-0 bound to $(kubectl get -n "$NS" pvc/data-x-0 -o jsonpath='{.spec.volumeName}')"

# 5. kubectl port-forward + psql.
local_port=${SMOKE_LOCAL_PORT:-15432}
port_free "$local_port" || local_port=$(free_port)
start_port_forward() {
  # (Not probed with a connection: each one is a stream to the pod.)
  [[ -f $tmp/pf-attempt.log ]] && cat "$tmp/pf-attempt.log" >>"$tmp/port-forward.log"
  kubectl port-forward -n "$NS" --address 127.0.0.1 pod/x-0 "$local_port:5432" >"$tmp/pf-attempt.log" 2>&1 &
  pf_pid=$!
  for _ in $(seq 1 50); do
    grep -q '^Forwarding from' "$tmp/pf-attempt.log" && return 0
    kill -0 "$pf_pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
ok=0
for _ in $(seq 1 10); do
  # kubectl port-forward exits on the first failed stream; restart it if so.
  if [[ -z $pf_pid ]] || ! kill -0 "$pf_pid" 2>/dev/null; then
    start_port_forward || { sleep 0.5; continue; }
  fi
  if out=$(PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p "$local_port" -U postgres -d postgres -tAc 'select 1' 2>"$tmp/psql.err"); then
    [[ $out == 1 ]] && ok=1 && break
  fi
  sleep 0.5
done
if [[ $ok != 1 ]]; then
  log "psql through kubectl port-forward failed:"
  cat "$tmp/psql.err" "$tmp/port-forward.log" "$tmp/pf-attempt.log" >&2
  exit 1
fi
log "psql -h 127.0.0.1 -p $local_port -c 'select 1' via kubectl port-forward pod/x-0 $local_port:5432 -> $out"
