# shellcheck shell=bash
# E2E steps that cause the faults a database on Kubernetes meets, on the real node, and check that nothing is lost.
# Sourced by run.sh after failures.sh (whose `e2e_pulumi`, `e2e_config`, `large_csv`, `copy_running` and
# `our_backends` they use) and day-two.sh (`pod_identity`); uses run.sh's `step`, `stack`, `query`, `expect_rows`,
# $E2E, $WORK, $NS and $ROWS_V2.

# node-restart: kube-proxy, kubelet and containerd stop (every container killed, the node's state and kube-proxy's
# rules removed: node-down.sh) and start again (node-up.sh). The pod, still bound to the node, gets a new sandbox and
# comes back on the same volume, and a pod reaches another through a Service again.
container_of() {
  kubectl -n "$NS" get pod postgres-0 \
    -o jsonpath='{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].ready}'
}
node_restart() {
  local before image container started=$SECONDS
  before=$(pod_identity) && container=$(container_of) || return 1
  image=$(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.spec.containers[0].image}') || return 1
  "$E2E/cluster/node-down.sh" || return 1
  # The node imports the run's images again, and the tag the day-two steps made, before kubelet starts the pod.
  E2E_POSTGRES_ALIASES=$image "$E2E/cluster/node-up.sh" || return 1
  # The API shows the old container as Ready until kubelet reports again: wait for a new container, Ready. One read
  # per test: two reads could see the old container Ready, then the new one not yet, and pass.
  local now=""
  for _ in $(seq 1 180); do
    now=$(container_of)
    [[ $now == *" true" && $now != "$container" ]] && break
    sleep 1
  done
  [[ $now == *" true" && $now != "$container" ]] || { echo "no new Ready container: $now (before: $container)"; return 1; }
  echo "node restarted, pod Ready again after $((SECONDS - started))s"
  "$E2E/cluster/service-check.sh" || return 1
  [[ $(pod_identity) == "${before%% *}"* ]] || { echo "another pod: $before -> $(pod_identity)"; return 1; }
  expect_rows "$ROWS_V2" || return 1
  stack preview --expect-no-changes
}

# kill-mid-seed: during the load of 3M rows, the PostgreSQL server's process is SIGKILLed on the node (the
# container's main process: the entrypoint execs the server). `up` fails at once with one line, the restarted
# container holds the old rows, no session of ours is left, and the next `up` loads.
postgres_pid() {
  local id
  id=$(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.status.containerStatuses[0].containerID}') || return 1
  timeout -k 5 30 ctr --address "$E2E_WORKDIR/node/containerd/containerd.sock" -n k8s.io tasks ls |
    awk -v id="${id#containerd://}" '$1 == id { print $2 }'
}
restarts_and_ready() {
  kubectl -n "$NS" get pod postgres-0 \
    -o jsonpath='{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}'
}
kill_mid_seed() {
  local before previous pid up status=0 started restarts
  before=$(query "SELECT product, price, quantity FROM sales ORDER BY product") || return 1
  restarts=$(restarts_and_ready) || return 1
  restarts=${restarts%% *}
  previous=$(e2e_config get seedCsv)
  [[ -s $WORK/large.csv ]] || large_csv "$WORK/large.csv" 3000000 || return 1
  e2e_config set seedCsv "$WORK/large.csv" || return 1
  e2e_pulumi 300 up --yes --skip-preview >"$WORK/kill-up.txt" 2>&1 &
  up=$!
  copy_running "$up" "$WORK/kill-up.txt" || return 1
  pid=$(postgres_pid)
  [[ -n $pid ]] || { echo "no PostgreSQL process found on the node"; wait "$up"; return 1; }
  kill -KILL "$pid"
  started=$SECONDS
  wait "$up" && status=1
  KILL_SECONDS=$((SECONDS - started))
  cat "$WORK/kill-up.txt"
  echo "up failed ${KILL_SECONDS}s after the server was killed"
  [[ $status -eq 0 ]] || { echo "up succeeded although its server was killed mid-load"; return 1; }
  # One line says what happened: the connection to PostgreSQL was lost.
  grep -Eq 'error: .*(ended the session|restarted|terminat|lost|closed|reset|ECONNRESET)' "$WORK/kill-up.txt" || return 1
  # The API shows the killed container as Ready until kubelet reports: wait for the restarted one.
  for _ in $(seq 1 120); do
    [[ $(restarts_and_ready) == "$((restarts + 1)) true" ]] && break
    sleep 1
  done
  [[ $(query "SELECT product, price, quantity FROM sales ORDER BY product") == "$before" ]] ||
    { echo "the old rows were not kept"; return 1; }
  [[ $(our_backends) == 0 ]] || { echo "a backend of ours is still there"; return 1; }
  e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  [[ $(query "SELECT count(*) FROM sales") == 3000000 ]] || { echo "the large CSV did not load"; return 1; }
  e2e_config set seedCsv "$previous" && e2e_pulumi 300 up --yes --skip-preview >/dev/null
}

# failed-rollout: an image that cannot be pulled, and one whose container exits at once. Each `up` fails within
# seconds, in one line naming the cause, before anything changes: the pod keeps serving the old rows on its old
# image, and the next `up` with the good image has nothing to change.
failed_rollout() {
  local good before case image started
  good=$(e2e_config get image) && before=$(pod_identity) || return 1
  for case in "missing=${E2E_POSTGRES_IMAGE%/*}/missing:17.0" "exits=$E2E_EXITS_IMAGE"; do
    image=${case#*=}
    e2e_config set image "$image" || return 1
    started=$SECONDS
    if e2e_pulumi 600 up --yes --skip-preview >"$WORK/rollout-up.txt" 2>&1; then
      echo "up with image $image succeeded"
      return 1
    fi
    echo "failed rollout (${case%%=*}): up failed after $((SECONDS - started))s"
    grep -E '^ +error: ' "$WORK/rollout-up.txt" | sort -u
    case ${case%%=*} in
      missing) grep -Eq "error: .*check of image $image .*cannot start: container postgres: (ErrImagePull|ImagePullBackOff)" \
        "$WORK/rollout-up.txt" || return 1 ;;
      exits) grep -Eq "error: .*check of image $image .*exited with status 3 .*: FATAL: this image exits at once" \
        "$WORK/rollout-up.txt" || return 1 ;;
    esac
    grep -q "nothing was changed, and the database keeps its image" "$WORK/rollout-up.txt" || return 1
    [[ $(pod_identity) == "$before" ]] || { echo "the pod changed: $before -> $(pod_identity)"; return 1; }
    [[ $(kubectl -n "$NS" get statefulset postgres -o jsonpath='{.spec.template.spec.containers[0].image}') == "$good" ]] ||
      { echo "the StatefulSet's image changed"; return 1; }
    [[ -z $(kubectl -n "$NS" get pods -l app.kubernetes.io/component=image-check -o name) ]] ||
      { echo "an image-check pod was left behind"; return 1; }
    expect_rows "$ROWS_V2" || return 1
  done
  e2e_config set image "$good" && e2e_pulumi 300 up --yes --expect-no-changes >/dev/null
}

# volume-full: a stack on the node's one small volume (class `small`: a loop-mounted filesystem of its own,
# ../cluster/up.sh), whose room is then cut to 4 MiB, and a CSV larger than that. The load fails with one line naming
# the full disk; the old rows stay, the server (same container) answers reads; a CSV that fits then loads.
FULL_NS=sales-db-e2e-full
full_stack() { stack_on e2e-full "$@"; }
volume_full() { own_stack e2e-full "$FULL_NS" volume_full_checks; }
volume_full_checks() {
  local before started avail
  new_stack e2e-full "namespace=$FULL_NS" storageClass=small storageSize=48Mi seedWaitTimeout=120 \
    "image=$E2E_POSTGRES_IMAGE" || return 1
  full_stack up --yes --skip-preview >/dev/null || return 1
  expect_rows "$ROWS_V1" "$FULL_NS" || return 1
  before=$(kubectl -n "$FULL_NS" get pod postgres-0 -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].restartCount}')
  # The room made small and known, whatever initdb took: the server first moves to a new WAL segment (created
  # now, so the load's WAL has a whole one), then a ballast file leaves 4 MiB. A data file that cannot grow is an
  # error of the load; WAL that cannot be written would stop the server.
  query "SELECT pg_switch_wal(); CHECKPOINT" "$FULL_NS" >/dev/null || return 1
  avail=$(df --output=avail -B1 "$E2E_WORKDIR/pv/small" | tail -n 1)
  fallocate -l $((avail - 4 * 1024 * 1024)) "$E2E_WORKDIR/pv/small/ballast" || return 1
  [[ -s $WORK/full.csv ]] || large_csv "$WORK/full.csv" 1000000 || return 1
  config_on e2e-full set seedCsv "$WORK/full.csv" || return 1
  started=$SECONDS
  if full_stack up --yes --skip-preview >"$WORK/full-up.txt" 2>&1; then
    echo "a CSV larger than the volume loaded"
    return 1
  fi
  echo "volume full: up failed after $((SECONDS - started))s"
  grep -E '^ +error: ' "$WORK/full-up.txt" | sort -u
  grep -q "the database server's disk is full" "$WORK/full-up.txt" || return 1
  ! grep -q "refused this row" "$WORK/full-up.txt" || { echo "a full disk blamed on a row"; return 1; }
  expect_rows "$ROWS_V1" "$FULL_NS" || return 1
  [[ $(kubectl -n "$FULL_NS" get pod postgres-0 -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].restartCount}') == "$before" ]] ||
    { echo "the server restarted"; return 1; }
  config_on e2e-full set seedCsv "$WORK/sales-v2.csv" || return 1
  full_stack up --yes --skip-preview >/dev/null || return 1
  expect_rows "$ROWS_V2" "$FULL_NS"
}

fault_steps() {
  step node-restart node_restart
  grep -E '^node restarted' "$WORK/step.log" || true
  step kill-mid-seed kill_mid_seed
  grep -E '^up failed .* after the server was killed' "$WORK/step.log" || true
  step failed-rollout failed_rollout
  grep -E '^failed rollout' "$WORK/step.log" || true
  step volume-full volume_full
  grep -E '^volume full' "$WORK/step.log" || true
}
