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
  # The API shows the old container as Ready until kubelet reports again: wait for a new container, Ready.
  for _ in $(seq 1 180); do
    [[ $(container_of) == *" true" && $(container_of) != "$container" ]] && break
    sleep 1
  done
  [[ $(container_of) == *" true" && $(container_of) != "$container" ]] ||
    { echo "no new Ready container: $(container_of)"; return 1; }
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
  grep -Eq 'error: .*(terminated|lost|closed|reset|ECONNRESET)' "$WORK/kill-up.txt" || return 1
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

fault_steps() {
  step node-restart node_restart
  grep -E '^node restarted' "$WORK/step.log" || true
  step kill-mid-seed kill_mid_seed
  grep -E '^up failed .* after the server was killed' "$WORK/step.log" || true
}
