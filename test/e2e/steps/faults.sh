# shellcheck shell=bash
# E2E steps that cause the faults a database on Kubernetes meets, on the real node, and check that nothing is lost.
# Sourced by run.sh after the day-two steps; uses its `step`, `stack`, `expect_rows`, $E2E, $WORK, $NS, $ROWS_V2, and
# day-two.sh's `pod_identity`.

# node-restart: kubelet and containerd stop (every container killed, the node's state removed: node-down.sh) and
# start again (node-up.sh). The pod, still bound to the node, gets a new sandbox and comes back on the same volume.
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
  [[ $(pod_identity) == "${before%% *}"* ]] || { echo "another pod: $before -> $(pod_identity)"; return 1; }
  expect_rows "$ROWS_V2" || return 1
  stack preview --expect-no-changes
}

fault_steps() {
  step node-restart node_restart
  grep -E '^node restarted' "$WORK/step.log" || true
}
