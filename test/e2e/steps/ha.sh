# shellcheck shell=bash
# High availability (issue 20): the CloudNativePG operator from addons/, a stack of 3 instances on it, a real
# failover (the primary's pod deleted), a seed after it and one cut by it, TLS, and destroy. Sourced by run.sh after
# failures.sh and timings.sh (whose `e2e_pulumi`, `large_csv`, `copy_running`-style waits and `seconds_since` it
# uses); uses run.sh's `step`, `new_stack`, `stack_on`, `config_on`, `pulumi_`, $ROOT, $WORK, $PASSWORD and the rows.

HA_NS=sales-db-e2e-ha
HA_CLUSTER=postgres
ha_stack() { stack_on e2e-ha "$@"; }
ha_config() { config_on e2e-ha "$@"; }
# addons COMMAND ARGS...: a pulumi command on the add-ons project's stack, its config file outside the repo.
addons() {
  timeout -k 10 600 pulumi --cwd "$ROOT/addons" --non-interactive --color never "$1" --stack e2e-cluster \
    --config-file "$WORK/Pulumi.addons.yaml" "${@:2}"
}

# ha_pods ROLE: the Cluster's pods of ROLE (primary or replica), by the labels the operator keeps.
ha_pods() {
  timeout -k 5 30 kubectl -n "$HA_NS" get pods -l "cnpg.io/cluster=$HA_CLUSTER,cnpg.io/instanceRole=$1" \
    -o jsonpath='{.items[*].metadata.name}'
}
# ha_sql POD SQL [DATABASE]: psql in the instance's own container, as postgres over its Unix socket (peer).
ha_sql() {
  timeout -k 5 30 kubectl -n "$HA_NS" exec "$1" -c postgres -- \
    psql -X -U postgres -d "${3:-sales_db}" -v ON_ERROR_STOP=1 -AtF, -c "$2"
}
ha_rows() { ha_sql "$1" "SELECT product, price, quantity FROM sales ORDER BY product"; }
streaming() { ha_sql "$1" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" postgres; }
# wait_streaming N: the primary streams to N replicas (up to 3 minutes: a rejoining one may rewind first).
wait_streaming() {
  local primary n=""
  for _ in $(seq 1 180); do
    primary=$(ha_pods primary)
    [[ $primary == *" "* || -z $primary ]] || n=$(streaming "$primary" 2>/dev/null)
    [[ $n == "$1" ]] && { echo "replicas streaming: $n"; return 0; }
    sleep 1
  done
  echo "replicas streaming: ${n:-none} (expected $1; primary: ${primary:-none})"
  return 1
}
# rows_everywhere WANT: every instance holds exactly WANT (replicas within 30 s: they replay asynchronously).
rows_everywhere() {
  local pod got
  for pod in $(ha_pods primary) $(ha_pods replica); do
    for _ in $(seq 1 30); do
      got=$(ha_rows "$pod") && [[ $got == "$1" ]] && break
      sleep 1
    done
    [[ $got == "$1" ]] || { echo "$pod holds: $got"; echo "expected: $1"; return 1; }
    echo "$pod: $(wc -l <<<"$got") rows as expected"
  done
}

# ha-up: the operator once (the add-ons project), then a new stack of 3 instances in a new namespace.
ha_up() {
  local t version
  timeout -k 10 60 pulumi --cwd "$ROOT/addons" --non-interactive stack init e2e-cluster >/dev/null || return 1
  mv "$ROOT/addons/Pulumi.e2e-cluster.yaml" "$WORK/Pulumi.addons.yaml" || return 1
  addons up --yes >"$WORK/addons-up.txt" 2>&1 || { cat "$WORK/addons-up.txt"; return 1; }
  kubectl -n cnpg-system rollout status deployment/cnpg-controller-manager --timeout=180s || return 1
  version=$(timeout -k 5 30 kubectl -n cnpg-system exec deployment/cnpg-controller-manager -- /manager version |
    grep -o 'Version:[0-9][0-9.]*') || return 1
  echo "operator: CloudNativePG ${version#Version:}"
  new_stack e2e-ha "namespace=$HA_NS" createNamespace=true instances=3 storageSize=1Gi pvcRetention=Retain \
    'backupSchedule=0 3 * * *' backupKeep=2 seedWaitTimeout=120 "image=$E2E_POSTGRES_IMAGE" || return 1
  t=$(date +%s.%N)
  ha_stack up --yes --skip-preview >"$WORK/ha-up.txt" 2>&1 || { tail -n 30 "$WORK/ha-up.txt"; return 1; }
  HA_UP="up to a seeded 3-instance cluster $(seconds_since "$t") s (one pod, the up step: ${UP_SECONDS:-?} s)"
  echo "$HA_UP"
  [[ $(ha_pods primary) != *" "* ]] || { echo "more than one primary: $(ha_pods primary)"; return 1; }
  # The chart renders only its backups here: no StatefulSet, no Service of its own.
  ! kubectl -n "$HA_NS" get statefulset/postgres service/postgres >/dev/null 2>&1 ||
    { echo "the chart's server was deployed beside the Cluster"; return 1; }
  wait_streaming 2
}

# ha-rows: the seeded rows through the primary and through each replica, and through the connect outputs (psql over
# a port-forward to the -rw and -ro Services, verifying the server against the cluster's CA).
ha_rows_checks() {
  local output got
  rows_everywhere "$ROWS_V1" || return 1
  for output in connect connectReadOnly; do
    got=$(printf '%s\n' '\set QUIET on' '\pset tuples_only on' '\pset format unaligned' \
      "SELECT count(*), bool_and(ssl) FROM sales, pg_stat_ssl WHERE pid = pg_backend_pid();" |
      timeout -k 5 60 sh -c "$(pulumi_ stack output "$output" --stack e2e-ha)" 2>"$WORK/ha-connect.err") ||
      { cat "$WORK/ha-connect.err"; return 1; }
    echo "$output: $got"
    [[ $got == "3|t" ]] || return 1
  done
}

# ha-failover: three times, the primary's pod is deleted; a writable new primary must come within 60 s, the rows stay,
# and the old primary comes back as a replica.
FAILOVERS=""
ha_failover() {
  local old new t seconds writable
  for round in 1 2 3; do
    old=$(ha_pods primary)
    [[ -n $old && $old != *" "* ]] || { echo "no single primary: '$old'"; return 1; }
    t=$(date +%s.%N)
    timeout -k 5 30 kubectl -n "$HA_NS" delete pod "$old" --wait=false || return 1
    writable=""
    for _ in $(seq 1 240); do
      new=$(ha_pods primary)
      if [[ -n $new && $new != *" "* && $new != "$old" ]] &&
        ha_sql "$new" "CREATE TABLE IF NOT EXISTS e2e_failover (round int); INSERT INTO e2e_failover VALUES ($round)" \
          postgres >/dev/null 2>&1; then
        writable=yes
        break
      fi
      sleep 0.25
    done
    seconds=$(seconds_since "$t")
    [[ -n $writable ]] || { echo "no writable new primary after ${seconds}s (was $old)"; return 1; }
    echo "failover: new primary $new in $seconds s"
    FAILOVERS="$FAILOVERS ${seconds}"
    awk -v s="$seconds" 'BEGIN { exit !(s <= 60) }' || { echo "over the 60 s limit"; return 1; }
    [[ $(ha_rows "$new") == "$ROWS_V1" ]] || { echo "rows changed on $new"; return 1; }
    wait_streaming 2 || return 1
    [[ " $(ha_pods replica) " == *" $old "* ]] || { echo "$old did not rejoin as a replica: $(ha_pods replica)"; return 1; }
  done
}

# ha-seed-after-failover: an edited CSV, `up`: the new primary and the replicas hold the new rows.
ha_seed_after_failover() {
  ha_config set seedCsv "$WORK/sales-v2.csv" || return 1
  ha_stack up --yes --skip-preview >"$WORK/ha-seed.txt" 2>&1 || { tail -n 20 "$WORK/ha-seed.txt"; return 1; }
  rows_everywhere "$ROWS_V2"
}

# ha-backup-restore: after the failovers, a backup from the CronJob dumps the primary (through <cluster>-rw, TLS
# verified), listBackups shows it, and `restoreBackup=latest` undoes an edit by hand on every instance.
ha_backup_restore() {
  local backups restored
  run_backup ha-backup-1 "$HA_NS" || return 1
  [[ $(kubectl -n "$HA_NS" get pvc postgres-backups -o jsonpath='{.status.phase}') == Bound ]] || return 1
  backups=$(sh -c "$(pulumi_ stack output listBackups --stack e2e-ha)" | grep -o '[^ ]*\.dump$') || return 1
  echo "backups: $backups"
  [[ $(grep -c . <<<"$backups") == 1 ]] || return 1
  ha_sql "$(ha_pods primary)" "UPDATE sales SET quantity = 1" >/dev/null || return 1
  ha_config set restoreBackup latest || return 1
  ha_stack up --yes --skip-preview >"$WORK/ha-restore.txt" 2>&1 || { tail -n 20 "$WORK/ha-restore.txt"; return 1; }
  restored=$(pulumi_ stack output restoredBackup --stack e2e-ha) || return 1
  [[ $restored == "$backups" ]] || { echo "restored $restored, not $backups"; return 1; }
  rows_everywhere "$ROWS_V2" || return 1
  ha_stack up --yes --expect-no-changes >/dev/null || { echo "up after the restore has changes"; return 1; }
}

# ha-no-changes: after the failovers, neither preview nor refresh sees a change.
ha_no_changes() { ha_stack preview --expect-no-changes && ha_stack refresh --yes --expect-no-changes; }

# ha-tls: the seed's own session is TLS (pg_stat_ssl of its COPY, seen on the primary during a 1M-row reload), and
# a seed told to verify against another CA fails in one line and changes nothing.
ha_copy_ssl() {
  local primary
  primary=$(ha_pods primary)
  ha_sql "$primary" "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
    WHERE a.application_name = 'sales-db' AND a.query LIKE 'COPY%'" 2>/dev/null
}
ha_tls() {
  local up ssl="" status=0 dir=$WORK/wrong-ca
  [[ -s $WORK/million.csv ]] || large_csv "$WORK/million.csv" 1000000 || return 1
  ha_config set seedCsv "$WORK/million.csv" || return 1
  ha_stack up --yes --skip-preview >"$WORK/ha-tls-up.txt" 2>&1 &
  up=$!
  for _ in $(seq 1 600); do
    ssl=$(ha_copy_ssl)
    [[ -n $ssl ]] && break
    kill -0 "$up" 2>/dev/null || break
    sleep 0.1
  done
  wait "$up" || status=$?
  [[ $status -eq 0 ]] || { tail -n 20 "$WORK/ha-tls-up.txt"; return 1; }
  [[ $ssl == t ]] || { echo "seed session TLS: ${ssl:-not seen}"; return 1; }
  echo "seed session TLS: on"
  # Another CA, in a Secret of the namespace: the server's certificate does not verify.
  mkdir -p "$dir" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=another-ca -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || return 1
  kubectl -n "$HA_NS" create secret generic e2e-wrong-ca --from-file=ca.crt="$dir/ca.crt" >/dev/null || return 1
  ha_config set seedServerCa e2e-wrong-ca && ha_config set seedCsv "$WORK/sales-v2.csv" || return 1
  status=0
  ha_stack up --yes --skip-preview >"$WORK/ha-wrong-ca.txt" 2>&1 && status=1
  ha_config rm seedServerCa || return 1
  kubectl -n "$HA_NS" delete secret e2e-wrong-ca >/dev/null
  [[ $status -eq 0 ]] || { echo "up succeeded with a CA that did not sign the server's certificate"; return 1; }
  grep -E '^ +error: ' "$WORK/ha-wrong-ca.txt" | head -n 3
  grep -Eq 'error: .*(certificate|CA)' "$WORK/ha-wrong-ca.txt" || { tail -n 20 "$WORK/ha-wrong-ca.txt"; return 1; }
  [[ $(ha_sql "$(ha_pods primary)" "SELECT count(*) FROM sales") == 1000000 ]] || return 1
}

# ha-failover-mid-seed: the primary's pod is deleted, with a grace period of 1 s, while `up` loads 3M rows into it
# (a graceful delete lets CloudNativePG's smart shutdown wait for the load, which then commits: the first run saw
# it): `up` fails within its bound in one line, every instance keeps the old rows, and the next `up` loads.
ha_failover_mid_seed() {
  local up status=0 old before started
  before=$(ha_sql "$(ha_pods primary)" "SELECT count(*), sum(quantity) FROM sales") || return 1
  [[ -s $WORK/large.csv ]] || large_csv "$WORK/large.csv" 3000000 || return 1
  ha_config set seedCsv "$WORK/large.csv" || return 1
  ha_stack up --yes --skip-preview >"$WORK/ha-mid-up.txt" 2>&1 &
  up=$!
  for _ in $(seq 1 600); do
    [[ -n $(ha_copy_ssl) ]] && break
    kill -0 "$up" 2>/dev/null || break
    sleep 0.1
  done
  old=$(ha_pods primary)
  timeout -k 5 30 kubectl -n "$HA_NS" delete pod "$old" --grace-period=1 --wait=false || { wait "$up"; return 1; }
  started=$SECONDS
  wait "$up" && status=1
  echo "up failed $((SECONDS - started))s after the primary's pod was deleted"
  grep -E '^ +error: ' "$WORK/ha-mid-up.txt" | head -n 3
  [[ $status -eq 0 ]] || { echo "up succeeded although its primary went mid-load"; return 1; }
  grep -Eq 'error: .*(ended the session|read-only|lost|closed|reset|restarted|shut)' "$WORK/ha-mid-up.txt" || return 1
  wait_streaming 2 || return 1
  for pod in $(ha_pods primary) $(ha_pods replica); do
    [[ $(ha_sql "$pod" "SELECT count(*), sum(quantity) FROM sales") == "$before" ]] ||
      { echo "$pod does not hold the old rows"; return 1; }
  done
  ha_stack up --yes --skip-preview >"$WORK/ha-mid-up2.txt" 2>&1 || { tail -n 20 "$WORK/ha-mid-up2.txt"; return 1; }
  [[ $(ha_sql "$(ha_pods primary)" "SELECT count(*) FROM sales") == 3000000 ]] || return 1
  ha_config set seedCsv "$WORK/sales-v2.csv" && ha_stack up --yes --skip-preview >/dev/null
}

# ha-destroy: the add-ons refuse to go while the Cluster exists; the stack's destroy (Retain) leaves the three
# instances' PVCs, free of the Cluster, and the backups' PVC, and nothing else of ours.
ha_destroy() {
  local status=0 left pvcs
  addons destroy --yes --skip-preview >"$WORK/addons-refused.txt" 2>&1 && status=1
  [[ $status -eq 0 ]] || { echo "the add-ons went while a Cluster existed"; return 1; }
  grep -E "error: .*$HA_NS/$HA_CLUSTER" "$WORK/addons-refused.txt" | head -n 1 || { tail -n 20 "$WORK/addons-refused.txt"; return 1; }
  ha_stack destroy --yes --skip-preview >"$WORK/ha-destroy.txt" 2>&1 || { tail -n 20 "$WORK/ha-destroy.txt"; return 1; }
  for _ in $(seq 1 60); do
    left=$(kubectl -n "$HA_NS" get pods,clusters.postgresql.cnpg.io,secrets -o name 2>/dev/null | grep -v '^secret/default-token' || true)
    [[ -z $left ]] && break
    sleep 1
  done
  [[ -z $left ]] || { echo "left after destroy: $left"; return 1; }
  pvcs=$(kubectl -n "$HA_NS" get pvc -l "cnpg.io/cluster=$HA_CLUSTER" -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.ownerReferences}{"\n"}{end}')
  echo "retained: $pvcs"
  [[ $(grep -c . <<<"$pvcs") == 3 && $pvcs != *uid* ]] || { echo "expected 3 PVCs without owners"; return 1; }
  [[ $(kubectl -n "$HA_NS" get pvc postgres-backups -o jsonpath='{.status.phase}') == Bound ]] ||
    { echo "destroy took the backups"; return 1; }
}

# addons-destroy: with no Cluster left, the add-ons' destroy removes the operator, its namespace and its CRDs.
addons_destroy() {
  addons destroy --yes --skip-preview >"$WORK/addons-destroy.txt" 2>&1 || { tail -n 20 "$WORK/addons-destroy.txt"; return 1; }
  for _ in $(seq 1 120); do
    kubectl get namespace cnpg-system >/dev/null 2>&1 || break
    sleep 1
  done
  ! kubectl get namespace cnpg-system >/dev/null 2>&1 && ! kubectl get crd clusters.postgresql.cnpg.io >/dev/null 2>&1
}

ha_steps() {
  step ha-up ha_up
  grep -E '^(operator|up to a seeded|replicas streaming)' "$WORK/step.log" || true
  step ha-rows ha_rows_checks
  step ha-failover ha_failover
  grep -E '^(failover|replicas streaming)' "$WORK/step.log" || true
  step ha-seed-after-failover ha_seed_after_failover
  step ha-backup-restore ha_backup_restore
  step ha-no-changes ha_no_changes
  step ha-tls ha_tls
  grep -E '^seed session TLS' "$WORK/step.log" || true
  step ha-failover-mid-seed ha_failover_mid_seed
  grep -E '^up failed' "$WORK/step.log" || true
  step ha-destroy ha_destroy
  kubectl delete namespace "$HA_NS" --wait --timeout=120s >/dev/null 2>&1
  [[ -z $FAILOVERS ]] || say "failover times:$FAILOVERS s"
}
