# shellcheck shell=bash
# The pod and its database, as the e2e steps check them: psql through a port-forward to postgres-0, the pod's
# readiness and log, and the rows of the sales table. Sourced by run.sh, whose $WORK, $NS and $PASSWORD it uses.

FORWARD_PID=
stop_forward() {
  if [[ -n $FORWARD_PID ]]; then
    kill "$FORWARD_PID" 2>/dev/null || true
    wait "$FORWARD_PID" 2>/dev/null || true
    FORWARD_PID=
  fi
}
# start_forward NAMESPACE PORT: `kubectl port-forward pod/postgres-0 PORT:5432` in the background, once it listens.
start_forward() {
  timeout -k 5 120 kubectl -n "$1" port-forward pod/postgres-0 "$2:5432" >"$WORK/port-forward.log" 2>&1 &
  FORWARD_PID=$!
  # Wait for kubectl's own line, not a probe connection: every connection is a stream to the pod.
  for _ in $(seq 1 150); do
    grep -q '^Forwarding from' "$WORK/port-forward.log" && return 0
    kill -0 "$FORWARD_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$WORK/port-forward.log"
  stop_forward
  return 1
}
# query SQL [NAMESPACE] [PASSWORD]: runs SQL in sales_db through a port-forward to postgres-0. A forward that does
# not come up, or a connection it refuses or drops, is retried (twice); an answer of the server is not.
query() {
  local sql=$1 ns=${2:-$NS} password=${3:-$PASSWORD} port status attempt
  for attempt in 1 2 3; do
    port=$(free_port)
    status=0
    : >"$WORK/psql.err"
    if start_forward "$ns" "$port"; then
      PGCONNECT_TIMEOUT=10 PGPASSWORD=$password timeout -k 5 60 \
        psql -h 127.0.0.1 -p "$port" -U sales -d sales_db -v ON_ERROR_STOP=1 -AtF, -c "$sql" 2>"$WORK/psql.err" ||
        status=$?
      stop_forward
      grep -Eq 'Connection refused|closed the connection unexpectedly|timeout expired' "$WORK/psql.err" || break
    else
      status=1
    fi
    echo "port-forward attempt $attempt failed" >&2
    sleep 1
  done
  cat "$WORK/psql.err" >&2
  return $status
}
# wait_pod_ready NAMESPACE: postgres-0 exists and is Ready (its readiness probe, pg_isready, passed on the node).
wait_pod_ready() {
  for _ in $(seq 1 120); do
    kubectl -n "$1" get pod postgres-0 >/dev/null 2>&1 && break
    sleep 0.5
  done
  kubectl -n "$1" wait --for=condition=Ready --timeout=180s pod/postgres-0
}
# no_pulls: containerd was never asked to pull an image (pods may dial nothing outside this machine), but for the
# missing image the failed-rollout step names on purpose (on localhost, so its pull dials only this machine).
# (containerd logs every CRI call at info level: RunPodSandbox must be there for the absence to mean anything.)
no_pulls() {
  local log=$E2E_WORKDIR/node/containerd.log pulls
  grep -q 'RunPodSandbox' "$log" || { echo "containerd's log shows no CRI calls"; return 1; }
  pulls=$(grep -F 'PullImage' "$log" | grep -vF "${E2E_POSTGRES_IMAGE%/*}/missing:") || true
  [[ -z $pulls ]] || { echo "containerd pulled an image: $pulls"; return 1; }
}
pod_log() { timeout -k 5 30 kubectl -n "$1" logs postgres-0; }
sales_rows() { query "SELECT product, price, quantity FROM sales ORDER BY product" "$@"; }
# expect_rows WANT [NAMESPACE]: the table holds exactly WANT.
expect_rows() {
  local got
  got=$(sales_rows "${2:-$NS}") || return 1
  echo "$got"
  [[ $got == "$1" ]] || { echo "expected: $1"; return 1; }
}
