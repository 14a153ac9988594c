# shellcheck shell=bash
# The speed figures docs/performance.md quotes, measured on the e2e stack (printed, never asserted: the machine is shared).
# Sourced by run.sh after failures.sh, whose e2e_pulumi, e2e_config and large_csv it uses.

# seconds_since START: wall time since START (from `date +%s.%N`), to a hundredth of a second.
seconds_since() { echo "$(date +%s.%N) $1" | awk '{printf "%.2f", $1 - $2}'; }
# timed_runs N COMMAND...: runs COMMAND N times; prints each run's seconds, then the best (a shared machine's load
# only ever adds time).
timed_runs() {
  local n=$1 t all="" i
  shift
  for ((i = 0; i < n; i++)); do
    t=$(date +%s.%N)
    "$@" >/dev/null || return 1
    all="$all $(seconds_since "$t")"
  done
  echo "${all# } s (best $(tr ' ' '\n' <<<"${all# }" | sort -n | head -n 1) s)"
}

timings_checks() {
  local previous preview noop
  preview=$(timed_runs 3 e2e_pulumi 120 preview --expect-no-changes) || return 1
  previous=$(e2e_config get seedCsv)
  large_csv "$WORK/million.csv" 1000000 || return 1
  e2e_config set seedCsv "$WORK/million.csv" || return 1
  e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  # What a user runs: `pulumi up --yes`, preview included, with nothing to change.
  noop=$(timed_runs 3 e2e_pulumi 300 up --yes --expect-no-changes) || return 1
  e2e_config set seedCsv "$previous" && e2e_pulumi 300 up --yes --skip-preview >/dev/null || return 1
  TIMINGS="preview (no changes, 6-row CSV) ${preview}; up --yes with nothing to change (1M-row CSV) ${noop}"
  TIMINGS="$TIMINGS; load average $(cut -d ' ' -f 1 /proc/loadavg)"
  echo "timings: $TIMINGS"
}

# The Pulumi path of a load, on a stack of its own in a namespace that does not exist yet: `pulumi up --yes` from
# nothing to a table seeded from a 1M-row CSV, then the seed's reload of 1M rows through its port-forward against
# the same reload made directly (seedConnection direct, to the Service's ClusterIP, which kube-proxy translates on
# this host), alternating, three each. Every reload is of a CSV that differs from the table's (two files in turn).
FRESH_NS=sales-db-e2e-fresh
fresh_stack() { stack_on e2e-fresh "$@"; }
fresh_config() { config_on e2e-fresh "$@"; }
# cpu_seconds PIDFILE...: the CPU seconds (user and system) the processes of these pid files have used so far.
cpu_seconds() {
  local file total=0 ticks
  ticks=$(getconf CLK_TCK)
  for file in "$@"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$(cat "$file")/stat")))
  done
  awk -v t="$total" -v k="$ticks" 'BEGIN { printf "%.2f", t / k }'
}
# The processes a port-forward's bytes cross besides ours: the apiserver and the node's kubelet.
FORWARDERS=()
# reload_runs MODE...: for each MODE (port-forward or direct), switches the seed to it and times an `up` that
# reloads the other 1M-row CSV, then one with nothing to change (noop); prints MODE SECONDS per run. The table
# must hold the CSV just loaded (the second CSV's first product differs).
reload_runs() {
  local mode csv=b t service_ip marker cpu
  service_ip=$(kubectl -n "$FRESH_NS" get service postgres -o jsonpath='{.spec.clusterIP}') || return 1
  fresh_config set seedHost "$service_ip" || return 1
  for mode in "$@"; do
    fresh_config set seedConnection "$mode" && fresh_config set seedCsv "$WORK/million-$csv.csv" || return 1
    cpu=$(cpu_seconds "${FORWARDERS[@]}")
    t=$(date +%s.%N)
    fresh_stack up --yes --skip-preview >"$WORK/fresh-reload.txt" 2>&1 || { cat "$WORK/fresh-reload.txt"; return 1; }
    echo "$mode $(seconds_since "$t")"
    echo "$mode-forwarders $(awk -v a="$cpu" -v b="$(cpu_seconds "${FORWARDERS[@]}")" 'BEGIN { printf "%.2f", b - a }')"
    t=$(date +%s.%N)
    fresh_stack up --yes --skip-preview --expect-no-changes >/dev/null || return 1
    echo "noop $(seconds_since "$t")"
    marker=$(query "SELECT count(*) FROM sales WHERE product = 'Halal Item zero'" "$FRESH_NS") || return 1
    [[ $marker == "$([[ $csv == b ]] && echo 1 || echo 0)" ]] || { echo "the table does not hold million-$csv.csv"; return 1; }
    [[ $csv == b ]] && csv=a || csv=b
  done
}
# median_of NAME RUNS: the median seconds of NAME's runs in RUNS (lines of `NAME SECONDS`).
median_of() { awk -v m="$1" '$1 == m { print $2 }' <<<"$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pulumi_path_checks() {
  local t first runs forward direct noop
  [[ -s $WORK/million.csv ]] || large_csv "$WORK/million.csv" 1000000 || return 1
  cp "$WORK/million.csv" "$WORK/million-a.csv" || return 1
  # The same rows but one: every reload replaces the whole table.
  sed '2s/^Halal Item 0,/Halal Item zero,/' "$WORK/million.csv" >"$WORK/million-b.csv" || return 1
  new_stack e2e-fresh "namespace=$FRESH_NS" createNamespace=true pvcRetention=Delete seedWaitTimeout=120 \
    "image=$E2E_POSTGRES_IMAGE" "seedCsv=$WORK/million-a.csv" || return 1
  t=$(date +%s.%N)
  fresh_stack up --yes >"$WORK/fresh-up.txt" 2>&1 || { cat "$WORK/fresh-up.txt"; return 1; }
  first=$(seconds_since "$t")
  [[ $(query "SELECT count(*) FROM sales" "$FRESH_NS") == 1000000 ]] || { echo "the fresh stack's table is not seeded"; return 1; }
  FORWARDERS=("$E2E_WORKDIR/kwok/clusters/${E2E_CLUSTER_NAME:-sales-db-e2e}/pids/kube-apiserver.pid" "$E2E_WORKDIR/node/kubelet.pid")
  runs=$(reload_runs port-forward direct port-forward direct port-forward direct) || { echo "$runs"; return 1; }
  echo "$runs"
  forward=$(median_of port-forward "$runs") direct=$(median_of direct "$runs") noop=$(median_of noop "$runs")
  PULUMI_PATH="up (preview included) on an empty namespace to 1M seeded rows ${first} s;"
  PULUMI_PATH="$PULUMI_PATH up --skip-preview (medians of 3): reloading 1M rows through the port-forward ${forward} s,"
  PULUMI_PATH="$PULUMI_PATH directly ${direct} s, with nothing to change ${noop} s; the seed's part (validation and load)"
  PULUMI_PATH="$PULUMI_PATH $(awk -v f="$forward" -v d="$direct" -v n="$noop" \
    'BEGIN { printf "%.2f s through the port-forward, %.2f s directly (%.2fx)", f - n, d - n, (f - n) / (d - n) }')"
  PULUMI_PATH="$PULUMI_PATH; CPU of the apiserver and kubelet during a reload (median): through the port-forward"
  PULUMI_PATH="$PULUMI_PATH $(median_of port-forward-forwarders "$runs") s, directly $(median_of direct-forwarders "$runs") s"
  echo "pulumi path: $PULUMI_PATH"
}

timing_steps() {
  step timings timings_checks
  [[ -z ${TIMINGS:-} ]] || say "timings: $TIMINGS"
  step timings-pulumi-path own_stack e2e-fresh "$FRESH_NS" pulumi_path_checks
  [[ -z ${PULUMI_PATH:-} ]] || say "pulumi path: $PULUMI_PATH"
}
