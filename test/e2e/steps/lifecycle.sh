# shellcheck shell=bash
# E2E steps 8 to 12, for what the stack keeps and leaves: no plaintext password anywhere, a pod restart on the same
# volume, drift repaired, destroy, and a Retain stack's volume kept through destroy. Sourced by run.sh, which runs
# them after the failure and timing steps; they use its stack, query, expect_rows and the like.

secret_checks() {
  pulumi_ stack export --stack e2e >"$WORK/state.json" || return 1
  ! grep -q "$PASSWORD" "$WORK/state.json" || { echo "password in stack export"; return 1; }
  helm -n "$NS" get values postgres --all >"$WORK/values.yaml" || return 1
  ! grep -q "$PASSWORD" "$WORK/values.yaml" || { echo "password in helm values"; return 1; }
  # (Output captured first: `grep -q` closing a pipe early would fail the pipeline under pipefail.)
  local spec log
  spec=$(kubectl -n "$NS" get sts postgres -o yaml) && log=$(pod_log "$NS") || return 1
  ! grep -q "$PASSWORD" <<<"$spec" || { echo "password in the pod spec"; return 1; }
  ! grep -q "$PASSWORD" <<<"$log" || { echo "password in the container's log"; return 1; }
}

restart_checks() {
  local old_uid new_uid
  old_uid=$(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.metadata.uid}') || return 1
  kubectl -n "$NS" delete pod postgres-0 --wait=true --timeout=120s || return 1
  for _ in $(seq 1 120); do
    new_uid=$(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.metadata.uid}' 2>/dev/null) || true
    [[ -n $new_uid && $new_uid != "$old_uid" ]] && break
    sleep 0.5
  done
  [[ -n $new_uid && $new_uid != "$old_uid" ]] || { echo "postgres-0 was not recreated"; return 1; }
  wait_pod_ready "$NS" || return 1
  ! grep -q '^initialising a new cluster' <<<"$(pod_log "$NS")" ||
    { echo "the restarted pod ran initdb again"; return 1; }
  expect_rows "$ROWS_V2" || return 1
  stack preview --expect-no-changes
}

drift_checks() {
  query "DELETE FROM sales WHERE product IN ('Halal Tea', 'Halal Dates')" || return 1
  expect_rows $'Halal Laptop,999.99,2\nHalal Mouse,24.99,10' >/dev/null || return 1
  if stack refresh --preview-only --expect-no-changes >"$WORK/drift-refresh.txt" 2>&1; then
    cat "$WORK/drift-refresh.txt"
    echo "refresh saw no drift after rows were deleted by hand"
    return 1
  fi
  cat "$WORK/drift-refresh.txt"
  grep -Eq '~ +pulumi-nodejs:dynamic/seed:SalesSeed sales-seed update' "$WORK/drift-refresh.txt" || return 1
  stack refresh --yes || return 1
  stack up --yes --skip-preview || return 1
  expect_rows "$ROWS_V2"
}

destroy_checks() {
  stack destroy --yes --skip-preview || return 1
  local left
  left=$(kubectl -n "$NS" get statefulset,service,secret -o name) || return 1
  [[ -z $left ]] || { echo "left behind: $left"; return 1; }
  [[ -z $(helm -n "$NS" list -q) ]] || { echo "release still listed"; return 1; }
  # The pod stops for real (PostgreSQL's shutdown), and then, pvcRetention=Delete: the StatefulSet owns its PVC,
  # and the garbage collector removes it.
  kubectl -n "$NS" wait --for=delete pod/postgres-0 --timeout=120s || return 1
  for _ in $(seq 1 60); do
    kubectl -n "$NS" get pvc postgres-data-postgres-0 >/dev/null 2>&1 || return 0
    sleep 1
  done
  echo "PVC postgres-data-postgres-0 still exists although retention is Delete"
  return 1
}

RETAIN_NS=sales-db-e2e-retain
retain_checks() {
  local pvc=postgres-data-postgres-0 volume
  new_stack e2e-retain "namespace=$RETAIN_NS" pvcRetention=Retain storageSize=2Gi seedWaitTimeout=120 \
    "image=$E2E_POSTGRES_IMAGE" || return 1
  stack_on e2e-retain up --yes --skip-preview || return 1
  # The namespace the stack created carries the restricted Pod Security level, and the pod was admitted to it.
  [[ $(kubectl get namespace "$RETAIN_NS" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}') == restricted ]] ||
    { echo "namespace $RETAIN_NS is not labelled enforce=restricted"; return 1; }
  [[ $(kubectl -n "$RETAIN_NS" get pvc "$pvc" -o jsonpath='{.spec.resources.requests.storage}') == 2Gi ]] || return 1
  volume=$(kubectl -n "$RETAIN_NS" get pvc "$pvc" -o jsonpath='{.spec.volumeName}') && [[ -n $volume ]] || return 1
  expect_rows "$ROWS_V1" "$RETAIN_NS" || return 1
  # The default class does not allow expansion: a larger volume is refused (steps/day-two.sh), nothing changed.
  refused e2e-retain grow-fixed-class storageSize 3Gi \
    "storageSize 3Gi would grow the volume postgres-data-postgres-0 (2Gi), but its StorageClass standard does not allow volume expansion" ||
    return 1
  [[ $(kubectl -n "$RETAIN_NS" get pvc "$pvc" -o jsonpath='{.spec.resources.requests.storage}') == 2Gi ]] || return 1
  # A mark only this volume holds: a fresh volume (or a re-seed) could not have it.
  query "CREATE TABLE e2e_mark AS SELECT 'before destroy'::text AS note" "$RETAIN_NS" || return 1
  stack_on e2e-retain destroy --yes --skip-preview || return 1
  ! kubectl -n "$RETAIN_NS" get statefulset postgres >/dev/null 2>&1 || { echo "StatefulSet left behind"; return 1; }
  # Once the pod is gone the garbage collector has handled the StatefulSet's dependents; a retained PVC is not one
  # of them (no owner), so nothing will delete it later.
  kubectl -n "$RETAIN_NS" wait --for=delete pod/postgres-0 --timeout=120s || return 1
  [[ $(kubectl -n "$RETAIN_NS" get pvc "$pvc" -o jsonpath='{.status.phase}') == Bound ]] ||
    { echo "retained PVC is gone"; return 1; }
  [[ -z $(kubectl -n "$RETAIN_NS" get pvc "$pvc" -o jsonpath='{.metadata.ownerReferences}') ]] ||
    { echo "the retained PVC has an owner, whose deletion would delete it"; return 1; }
  stack_on e2e-retain up --yes --skip-preview || return 1
  [[ $(kubectl -n "$RETAIN_NS" get pvc "$pvc" -o jsonpath='{.spec.volumeName}') == "$volume" ]] ||
    { echo "the new up did not reattach $volume"; return 1; }
  expect_rows "$ROWS_V1" "$RETAIN_NS" || return 1
  [[ $(query "SELECT note FROM e2e_mark" "$RETAIN_NS") == "before destroy" ]] ||
    { echo "the data written before the destroy is gone"; return 1; }
  stack_on e2e-retain destroy --yes --skip-preview || return 1
  no_pulls
}
