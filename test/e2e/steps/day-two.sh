# shellcheck shell=bash
# E2E steps for day two, each one `pulumi up` of the e2e stack as a user would run it: rotate the password, grow
# the volume (on the StorageClass `expandable`, which allows it), refuse a shrink and another PostgreSQL major, and
# roll a new minor. Sourced by run.sh after its refresh step; uses its `stack`, `query`, `expect_rows`, $ROOT, $WORK,
# $NS and $PASSWORD (which the rotation changes for the steps after it).

day_two_config() { timeout -k 10 60 pulumi --cwd "$ROOT" --non-interactive config "$@" --stack e2e --config-file "$WORK/Pulumi.e2e.yaml"; }
# pod_identity: the pod's UID and its container's restart count (a restart or a new pod changes them).
pod_identity() { kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].restartCount}'; }
sts_uid() { kubectl -n "$NS" get statefulset postgres -o jsonpath='{.metadata.uid}'; }
pvc_size() { kubectl -n "$NS" get pvc postgres-data-postgres-0 -o jsonpath='{.spec.resources.requests.storage}'; }

secret_uid() { kubectl -n "$NS" get secret postgres-auth -o jsonpath='{.metadata.uid}'; }

# As on staging and prod, the Secret (and the release) are protected while the password rotates; whatever happens,
# the protection goes again, so that the destroy step can run.
password_rotation() {
  local status=0
  day_two_config set protect true && stack up --yes --skip-preview >/dev/null || return 1
  rotation_checks || status=$?
  day_two_config set protect false && stack up --yes --skip-preview >/dev/null || return 1
  return "$status"
}
rotation_checks() {
  local before rotated output secret
  before=$(pod_identity) && secret=$(secret_uid) || return 1
  rotated="e2e-rotated-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  day_two_config set --secret dbPassword "$rotated" || return 1
  stack preview --diff >"$WORK/rotate-preview.txt" 2>&1 || { cat "$WORK/rotate-preview.txt"; return 1; }
  stack up --yes --skip-preview >"$WORK/rotate-up.txt" 2>&1 || { cat "$WORK/rotate-up.txt"; return 1; }
  cat "$WORK/rotate-preview.txt" "$WORK/rotate-up.txt"
  grep -q 'The password of role sales rotates in this up' "$WORK/rotate-preview.txt" || return 1
  for output in "$WORK/rotate-preview.txt" "$WORK/rotate-up.txt"; do
    ! grep -qF -e "$PASSWORD" -e "$rotated" "$output" || { echo "a password in $output"; return 1; }
  done
  ! query "SELECT 1" "$NS" "$PASSWORD" || { echo "the old password still logs in"; return 1; }
  local old=$PASSWORD
  PASSWORD=$rotated
  expect_rows "$ROWS_V2" || return 1
  # The seed reads the Secret on refresh: it holds the new password.
  stack refresh --yes --expect-no-changes && stack up --yes --expect-no-changes || return 1
  [[ $(pod_identity) == "$before" ]] || { echo "the pod restarted: $before -> $(pod_identity)"; return 1; }
  [[ $(secret_uid) == "$secret" ]] || { echo "the Secret was replaced, not updated"; return 1; }
  [[ $old != "$rotated" ]]
}

volume_growth() {
  local pod sts
  pod=$(pod_identity) && sts=$(sts_uid) || return 1
  [[ $(pvc_size) == 1Gi ]] || return 1
  day_two_config set storageSize 2Gi || return 1
  stack preview >"$WORK/grow-preview.txt" 2>&1 || { cat "$WORK/grow-preview.txt"; return 1; }
  cat "$WORK/grow-preview.txt"
  grep -q 'grows the volume postgres-data-postgres-0 from 1Gi to 2Gi in place (StorageClass expandable' \
    "$WORK/grow-preview.txt" && grep -q 'recreates the StatefulSet postgres without deleting its pod' \
    "$WORK/grow-preview.txt" || return 1
  stack up --yes --skip-preview || return 1
  [[ $(pvc_size) == 2Gi ]] || { echo "PVC request: $(pvc_size)"; return 1; }
  [[ $(sts_uid) != "$sts" ]] || { echo "the StatefulSet was not recreated"; return 1; }
  [[ $(kubectl -n "$NS" get statefulset postgres -o jsonpath='{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}') == 2Gi ]] ||
    return 1
  [[ $(pod_identity) == "$pod" ]] || { echo "the pod restarted: $pod -> $(pod_identity)"; return 1; }
  expect_rows "$ROWS_V2" || return 1
  stack preview --expect-no-changes
}

# refused STACK NAME KEY VALUE EXPECTED: with KEY=VALUE both preview and up of STACK fail, saying EXPECTED; the
# config goes back.
refused() {
  local on=$1 name=$2 key=$3 value=$4 expected=$5 previous status=0
  local config=(--stack "$on" --config-file "$WORK/Pulumi.$on.yaml")
  previous=$(pulumi_ config get "$key" "${config[@]}") || return 1
  pulumi_ config set "$key" "$value" "${config[@]}" || return 1
  stack_on "$on" preview >"$WORK/refused-$name-preview.txt" 2>&1 && status=1
  stack_on "$on" up --yes --skip-preview >"$WORK/refused-$name-up.txt" 2>&1 && status=1
  pulumi_ config set "$key" "$previous" "${config[@]}" || return 1
  cat "$WORK/refused-$name-preview.txt" "$WORK/refused-$name-up.txt"
  [[ $status -eq 0 ]] || { echo "a refused change was accepted"; return 1; }
  grep -qF -- "$expected" "$WORK/refused-$name-preview.txt" && grep -qF -- "$expected" "$WORK/refused-$name-up.txt"
}

# unchanged_after COMMAND...: the pod (UID, restarts), the StatefulSet, the volume and the rows are as before.
unchanged_after() {
  local pod sts size
  pod=$(pod_identity) && sts=$(sts_uid) && size=$(pvc_size) || return 1
  "$@" || return 1
  [[ $(pod_identity) == "$pod" && $(sts_uid) == "$sts" && $(pvc_size) == "$size" ]] ||
    { echo "changed: pod $pod -> $(pod_identity), sts $sts -> $(sts_uid), pvc $size -> $(pvc_size)"; return 1; }
  expect_rows "$ROWS_V2"
}

volume_shrink_refused() {
  unchanged_after refused e2e shrink storageSize 1Gi \
    "storageSize 1Gi is smaller than the volume postgres-data-postgres-0 (2Gi): a volume never shrinks"
}

# The image retagged in the node's containerd, as a release of another version would arrive.
retag() { timeout -k 5 30 ctr --address "$E2E_WORKDIR/node/containerd/containerd.sock" -n k8s.io images tag --force "$E2E_POSTGRES_IMAGE" "$1" >/dev/null; }

major_upgrade_refused() {
  local major=${E2E_POSTGRES_IMAGE##*:}
  major=${major%%.*}
  local next="${E2E_POSTGRES_IMAGE%:*}:$((major + 1)).0"
  retag "$next" || return 1
  unchanged_after refused e2e major image "$next" \
    "image $next is PostgreSQL $((major + 1)), but the volume postgres-data-postgres-0 holds a PostgreSQL $major data directory"
}

minor_upgrade() {
  local tag=${E2E_POSTGRES_IMAGE##*:} pod minor
  minor="${E2E_POSTGRES_IMAGE%:*}:${tag%%.*}.99-e2e"
  retag "$minor" || return 1
  pod=$(pod_identity) || return 1
  day_two_config set image "$minor" || return 1
  stack up --yes --skip-preview || return 1
  [[ $(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.spec.containers[0].image}') == "$minor" ]] || return 1
  [[ $(pod_identity) != "$pod" ]] || { echo "the pod did not roll"; return 1; }
  wait_pod_ready "$NS" >/dev/null || return 1
  expect_rows "$ROWS_V2" || return 1
  stack preview --expect-no-changes
}

day_two_steps() {
  step password-rotation password_rotation
  step volume-growth volume_growth
  step volume-shrink-refused volume_shrink_refused
  step major-upgrade-refused major_upgrade_refused
  step minor-upgrade minor_upgrade
}
