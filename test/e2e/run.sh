#!/usr/bin/env bash
# The hermetic end-to-end run (`npm run test:e2e`): the real Pulumi CLI and Kubernetes provider, against a real
# control plane and a real node (kubelet, containerd, runc, a bridge CNI) that runs the chart's PostgreSQL from a
# locally built image. Nothing is downloaded but Go modules, the Debian packages of cluster/packages.sh, and the
# Debian trixie packages the PostgreSQL image is made of (image/build.sh).
# Each step prints ✔ or ✘; the run ends with `e2e: N/N steps passed`. Everything is torn down on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E=$ROOT/test/e2e
# shellcheck source-path=SCRIPTDIR source=toolchain/versions.sh
source "$E2E/toolchain/versions.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$E2E/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pod.sh
source "$E2E/pod.sh"

NS=sales-db-e2e
# The valid rows of data/sales.csv, and of the edited CSV of the update step.
ROWS_V1=$'Halal Keyboard,49.99,5\nHalal Laptop,999.99,2\nHalal Mouse,24.99,10'
ROWS_V2=$'Halal Dates,12.5,7\nHalal Laptop,999.99,2\nHalal Mouse,24.99,10\nHalal Tea,10,100'
PASSWORD="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sales-db-e2e.XXXXXX")
# A cluster of this run's own, so that concurrent runs never tear down each other's (the node itself is one per
# machine: node-up.sh waits for another run's to go).
export E2E_WORKDIR=$WORK/cluster
passed=0
failed=0
started=$SECONDS

say() { printf '%s\n' "$*"; }
# step NAME COMMAND...: runs a check, printing ✔ NAME or ✘ NAME: the last lines of its output.
step() {
  local name=$1
  shift
  if "$@" >"$WORK/step.log" 2>&1; then
    say "✔ $name"
    passed=$((passed + 1))
  else
    say "✘ $name: $(tail -n 5 "$WORK/step.log" | tr '\n' ' ')"
    cp "$WORK/step.log" "$WORK/failed-$name.log"
    failed=$((failed + 1))
  fi
}

# Runs on any exit; never stops half-way (no -e here), so the node and the control plane always go.
cleanup() {
  local status=$?
  set +e
  stop_forward
  "$E2E/cluster/down.sh" >"$WORK/down.log" 2>&1 || say "teardown failed: see $WORK/down.log"
  if [[ $failed -gt 0 || $status -ne 0 ]]; then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# A TERM (from `timeout` or CI) or Ctrl-C still runs the cleanup: nothing is left running.
trap 'exit 143' TERM INT

# --- packages, toolchain, images and cluster -------------------------------------------------------------------
setup_log=$WORK/setup.log
# setup WHAT COMMAND...: a setup stage, its stderr logged; on failure, the log's end and the end of the run.
setup() {
  local what=$1
  shift
  "$@" 2>>"$setup_log" || {
    say "setup failed ($what):" >&2
    tail -n 30 "$setup_log" >&2
    exit 1
  }
}
setup packages "$E2E/cluster/packages.sh"
setup toolchain "$E2E/toolchain/build.sh"
images_env=$(setup images "$E2E/image/build.sh")
eval "$images_env"
plugins_env=$(setup plugins "$E2E/toolchain/install-plugins.sh" "$WORK/pulumi-home")
eval "$plugins_env"
# The dynamic provider host ships in the @pulumi/pulumi npm package (the CLI's release archive carries it too).
export PATH=$ROOT/node_modules/@pulumi/pulumi:$PATH
export PULUMI_BACKEND_URL=file://$WORK/state PULUMI_CONFIG_PASSPHRASE=e2e-passphrase
mkdir -p "$WORK/state"
cluster_started=$SECONDS
setup cluster "$E2E/cluster/up.sh" >/dev/null
# shellcheck disable=SC1091 # written by up.sh
source "$E2E_WORKDIR/cluster.env"
say "setup: cluster (control plane + real node) up in $((SECONDS - cluster_started))s"
# The namespace the e2e stack deploys into, under the restricted Pod Security Standard (enforced, and warned about
# for workloads, so that a dry-run of the StatefulSet reports what its pods would violate).
kubectl create namespace "$NS" >/dev/null
kubectl label namespace "$NS" pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/warn=restricted >/dev/null

# No pulumi command may hang the run: each gets ten minutes at most.
pulumi_() { timeout -k 10 600 pulumi --cwd "$ROOT" --non-interactive --color never "$@"; }
# new_stack STACK KEY=VALUE...: `stack init` (which writes Pulumi.<stack>.yaml, the secrets salt, into the project:
# it moves out of the repo at once), then plain config values and the password as a secret, in that file.
new_stack() {
  local name=$1 kv
  shift
  pulumi_ stack init "$name" >/dev/null && mv "$ROOT/Pulumi.$name.yaml" "$WORK/Pulumi.$name.yaml" || return 1
  for kv in "$@"; do
    pulumi_ config set --stack "$name" --config-file "$WORK/Pulumi.$name.yaml" "${kv%%=*}" "${kv#*=}" || return 1
  done
  pulumi_ config set --stack "$name" --config-file "$WORK/Pulumi.$name.yaml" --secret dbPassword "$PASSWORD"
}
# stack_on NAME COMMAND ARGS: a one-word pulumi command on stack NAME, with its config file outside the repo.
stack_on() { pulumi_ "$2" --stack "$1" --config-file "$WORK/Pulumi.$1.yaml" "${@:3}"; }
# own_stack STACK NAMESPACE CHECKS: runs CHECKS, then, whatever they did, destroys STACK and deletes NAMESPACE, so
# that nothing of a step's own stack is left for the steps after it.
own_stack() {
  local status=0
  "$3" || status=$?
  stack_on "$1" destroy --yes --skip-preview >/dev/null 2>&1
  kubectl delete namespace "$2" --wait --timeout=120s >/dev/null 2>&1
  return "$status"
}
# config_on STACK ARGS...: `pulumi config ARGS` of a stack the run made.
config_on() { timeout -k 10 60 pulumi --cwd "$ROOT" --non-interactive config "${@:2}" --stack "$1" --config-file "$WORK/Pulumi.$1.yaml"; }
stack() { stack_on e2e "$@"; }
# The real first boot (initdb) and a busy shared machine: give the seeder two minutes to reach PostgreSQL.
# On the StorageClass that allows expansion: the day-two steps grow its volume.
setup stack new_stack e2e "namespace=$NS" createNamespace=false storageSize=1Gi storageClass=expandable pvcRetention=Delete \
  seedWaitTimeout=120 "image=$E2E_POSTGRES_IMAGE"
say "setup: ready in $((SECONDS - started))s"

# --- 1. the chart, and the namespace it is admitted to --------------------------------------------------------
chart_checks() {
  local chart=$ROOT/infra/charts/postgres rendered=$WORK/rendered.yaml
  helm lint --strict "$chart" --set auth.existingSecret=postgres-auth || return 1
  helm template postgres "$chart" --namespace "$NS" --set auth.existingSecret=postgres-auth \
    --set "image.repository=${E2E_POSTGRES_IMAGE%:*}" --set "image.tag=${E2E_POSTGRES_IMAGE##*:}" >"$rendered" || return 1
  grep -q '^kind: StatefulSet$' "$rendered" && grep -q 'volumeClaimTemplates:' "$rendered" &&
    grep -q 'storage: 1Gi' "$rendered" && grep -q 'secretKeyRef:' "$rendered" &&
    grep -q 'clusterIP: None' "$rendered" && grep -q 'fsGroupChangePolicy: OnRootMismatch' "$rendered" || return 1
  # A values file with a password is refused by the schema.
  ! helm template postgres "$chart" --set auth.existingSecret=x --set auth.password=leak >/dev/null 2>&1 || return 1
  # Pod Security: the namespace enforces "restricted", a root pod is refused there, and the chart's pod template
  # draws no warning (PodSecurity checks a StatefulSet's template against the namespace's levels).
  [[ $(kubectl get namespace "$NS" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}') == restricted ]] ||
    return 1
  if kubectl -n "$NS" run e2e-root --image="$E2E_POSTGRES_IMAGE" --restart=Never --dry-run=server \
    --overrides='{"spec":{"securityContext":{"runAsUser":0}}}' >"$WORK/root-pod.log" 2>&1; then
    echo "a root pod was admitted to the restricted namespace"
    return 1
  fi
  grep -q 'violates PodSecurity "restricted' "$WORK/root-pod.log" || { cat "$WORK/root-pod.log"; return 1; }
  kubectl apply --dry-run=server -n "$NS" -f "$rendered" >"$WORK/dry-run.log" 2>&1 || { cat "$WORK/dry-run.log"; return 1; }
  cat "$WORK/dry-run.log"
  ! grep -q 'would violate PodSecurity' "$WORK/dry-run.log"
}
step chart chart_checks

# --- 2. preview ------------------------------------------------------------------------------------------------
preview_checks() {
  stack preview --diff >"$WORK/preview.txt" 2>&1 || { cat "$WORK/preview.txt"; return 1; }
  cat "$WORK/preview.txt"
  grep -q 'data/sales.csv: 3 valid, 3 rejected' "$WORK/preview.txt" &&
    grep -q 'Invalid sale: line 7 \[product_prefix, min_price, max_quantity\]' "$WORK/preview.txt" &&
    grep -Eq '\+ +pulumi-nodejs:dynamic/seed:SalesSeed' "$WORK/preview.txt"
}
step preview preview_checks

# --- 3. up: PostgreSQL really runs, from our chart, on the node -----------------------------------------------
up_checks() {
  local up_started=$SECONDS
  # The seeder's first connection meets a PostgreSQL that is still running initdb: it must wait, not fail.
  stack up --yes --skip-preview || return 1
  UP_SECONDS=$((SECONDS - up_started))
  say "up took ${UP_SECONDS}s"
  [[ $(helm -n "$NS" status postgres) == *'STATUS: deployed'* ]] || return 1
  [[ $(kubectl -n "$NS" get sts postgres -o jsonpath='{.status.readyReplicas}') == 1 ]] || return 1
  [[ $(kubectl -n "$NS" get pvc postgres-data-postgres-0 -o jsonpath='{.status.phase}') == Bound ]] || return 1
  [[ $(kubectl -n "$NS" get pvc postgres-data-postgres-0 -o jsonpath='{.spec.resources.requests.storage}') == 1Gi ]] ||
    return 1
  # Running and Ready on the real node, through the real readiness probe, with no restart.
  local pod
  pod=$(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.spec.nodeName} {.status.phase} {.status.containerStatuses[0].ready} {.status.containerStatuses[0].restartCount}')
  echo "pod: $pod"
  [[ $pod == "$E2E_NODE_NAME Running true 0" ]] || return 1
  [[ $(timeout -k 5 30 kubectl -n "$NS" exec postgres-0 -- id -u) == 999 ]] || { echo "not uid 999"; return 1; }
  say "container runtime: $(kubectl get node "$E2E_NODE_NAME" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')," \
    "kubelet $(kubectl get node "$E2E_NODE_NAME" -o jsonpath='{.status.nodeInfo.kubeletVersion}')"
  local version
  version=$(query "SELECT version()") || return 1
  say "through the port-forward: $version"
  [[ $version == "PostgreSQL 17."* ]] || return 1
  # scram-sha-256 over TCP: a wrong password is refused.
  ! query "SELECT 1" "$NS" wrong-password || { echo "a wrong password was accepted"; return 1; }
  # The first boot ran initdb (the entrypoint says so; a restart must not).
  grep -q '^initialising a new cluster' <<<"$(pod_log "$NS")" || return 1
  # PGDATA is private to the server (the entrypoint's chmod 700 on every start, whatever fsGroup did).
  [[ $(timeout -k 5 30 kubectl -n "$NS" exec postgres-0 -- stat -c '%a %u' /var/lib/postgresql/data/pgdata) == "700 999" ]] ||
    return 1
  no_pulls
}
step up up_checks
# Whatever happened, show the run's output of the step in the summary (runtime and server version).
grep -E '^(up took|container runtime|through the port-forward)' "$WORK/step.log" || true

# --- 4. rows, read back through a port-forward to the pod --------------------------------------------------------
step rows expect_rows "$ROWS_V1"

# --- 5. nothing changes when nothing changed ---------------------------------------------------------------------
no_changes() { stack preview --expect-no-changes && stack up --yes --expect-no-changes; }
step no-changes no_changes

# --- 6. an edited CSV is an update of the seed, not a replace ----------------------------------------------------
update_checks() {
  {
    head -n 3 "$ROOT/data/sales.csv"
    echo "Halal Dates,12.50,7"
    echo "Halal Tea,10.00,100"
    echo "Bad Row,1,1"
  } >"$WORK/sales-v2.csv"
  pulumi_ config set --stack e2e --config-file "$WORK/Pulumi.e2e.yaml" seedCsv "$WORK/sales-v2.csv" || return 1
  stack preview --json >"$WORK/update-preview.json" || return 1
  node -e '
    const steps = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).steps;
    const seed = steps.find((s) => s.urn.endsWith("::sales-seed"));
    if (!seed || seed.op !== "update") { console.error("seed step:", seed && seed.op); process.exit(1); }
  ' "$WORK/update-preview.json" || return 1
  stack up --yes --skip-preview || return 1
  expect_rows "$ROWS_V2"
}
step update update_checks

# --- 7. refresh sees no drift ----------------------------------------------------------------------------------
step refresh stack refresh --yes --expect-no-changes

# --- day two (steps/day-two.sh): rotate the password, grow the volume, refuse a shrink and a major, roll a minor ---
# shellcheck source-path=SCRIPTDIR source=steps/day-two.sh
source "$E2E/steps/day-two.sh"
day_two_steps

# --- faults, failures and timings (steps/*.sh): a node restart and a server killed mid-seed, a failing preview,
# the connect output, the API cut mid-seed, a deleted namespace, readers during a reload, speed ----------------------
source "$E2E/steps/failures.sh"
source "$E2E/steps/timings.sh"
# shellcheck source-path=SCRIPTDIR source=steps/faults.sh
source "$E2E/steps/faults.sh"
fault_steps
failure_steps
timing_steps

# --- 8 to 12: what the stack keeps and leaves (steps/lifecycle.sh) ---------------------------------------------
# shellcheck source-path=SCRIPTDIR source=steps/lifecycle.sh
source "$E2E/steps/lifecycle.sh"

# --- 8. no plaintext password in the state or the Helm values ----------------------------------------------------
step secret secret_checks

# --- 9. restart: the StatefulSet brings the pod back on the same volume, with the data --------------------------
step restart restart_checks

# --- 10. drift: rows deleted by hand are seen by refresh, and the next up restores exactly the valid rows -------
step drift drift_checks

# --- 11. destroy leaves nothing but what the retention policy keeps ----------------------------------------------
step destroy destroy_checks

# --- 12. a Retain stack keeps its 2Gi volume through destroy, and a new up of the stack gets the same data back ---
step retain retain_checks

source "$E2E/steps/backups.sh"
step backup-restore backup_restore

# --- high availability: the operator, 3 instances, failovers, TLS (steps/ha.sh); the operator stays for pr-preview,
# whose prod stack runs 3 instances -------------------------------------------------------------------------------
# shellcheck source-path=SCRIPTDIR source=steps/ha.sh
source "$E2E/steps/ha.sh"
ha_steps

# --- 13, 14. the pull-request flow of the GitHub workflows (steps/pr-flow.sh) --------------------------------------
source "$E2E/steps/pr-flow.sh"
step pr-preview pr_preview
step review-stack review_stack

step addons-destroy addons_destroy

total=$((passed + failed))
say "e2e: $passed/$total steps passed in $((SECONDS - started))s"
[[ $failed -eq 0 ]]
