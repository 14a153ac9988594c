# shellcheck shell=bash
# E2E steps for what goes wrong: a preview that fails must fail in seconds, a port-forward cut in the middle of
# a seed must fail `up` within the tunnel's bound, leave no backend of ours, keep the old rows and let the next
# `up` succeed at once, a namespace deleted by hand is named at once, and readers never see a reload half-done.
# Sourced by run.sh, whose `step`, `query`, `new_stack`, $ROOT, $WORK, $NS and $PASSWORD they use; they run
# against its `e2e` stack while it is up (after the update step), and put its config back as they found it;
# deleted-namespace uses a stack of its own.

# e2e_pulumi SECONDS COMMAND ARGS...: a pulumi command on the e2e stack, killed if it outlives its bound.
e2e_pulumi() {
  local seconds=$1 command=$2
  shift 2
  timeout -k 10 "$seconds" pulumi --cwd "$ROOT" --non-interactive --color never "$command" \
    --stack e2e --config-file "$WORK/Pulumi.e2e.yaml" "$@"
}
e2e_config() { timeout -k 10 60 pulumi --cwd "$ROOT" --non-interactive config "$@" --stack e2e --config-file "$WORK/Pulumi.e2e.yaml"; }

# The seeder's bounds (infra/kube/target.ts): a frozen API is declared dead after 20 s of silence, checked every 5 s.
TUNNEL_DEAD_AFTER=25

# failing_preview NAME KEY VALUE EXPECTED: with KEY=VALUE the preview must fail within 30 s, saying EXPECTED.
failing_preview() {
  local key=$2 value=$3 expected=$4 previous started status
  previous=$(e2e_config get "$key" 2>/dev/null)
  e2e_config set "$key" "$value" || return 1
  started=$SECONDS
  e2e_pulumi 120 preview >"$WORK/failing-preview-$1.txt" 2>&1
  status=$?
  if [[ -n $previous ]]; then e2e_config set "$key" "$previous"; else e2e_config rm "$key"; fi
  cat "$WORK/failing-preview-$1.txt"
  echo "preview exited $status after $((SECONDS - started))s"
  [[ $status -ne 0 && $status -ne 124 && $status -ne 137 ]] || return 1
  ((SECONDS - started <= 30)) || { echo "a failing preview took more than 30s"; return 1; }
  grep -qF -- "$expected" "$WORK/failing-preview-$1.txt"
}
failing_preview_checks() {
  printf 'product,price,quantity\n"Halal Tea,12.50,4\n' >"$WORK/unterminated.csv"
  # A failure in the provider's check (the engine stops a running program) and one in the program itself.
  failing_preview check seedCsv "$WORK/unterminated.csv" "unterminated.csv:2: a quoted field opens on this line and never closes" &&
    failing_preview program storageSize lots "config sales-db:storageSize must be a storage quantity" &&
    # The preflight reads the cluster: a namespace that is not there, a StorageClass it does not have.
    failing_preview namespace namespace sales-db-missing \
      "namespace sales-db-missing does not exist and createNamespace is false" &&
    failing_preview storage-class storageClass fast "StorageClass fast does not exist in the cluster (it has: "
}

# The PID of the process that serves the pod's port-forward behind the API server: the kubelet of the pod's node,
# found by the kubelet port the node publishes.
# Freezing it, not the API server, cuts the forward without starving the control plane: a kube-controller-manager
# that cannot renew its lease for 10 s exits for good.
forward_server_pid() {
  local node port
  node=$(kubectl -n "$NS" get pod postgres-0 -o jsonpath='{.spec.nodeName}') || return 1
  port=$(kubectl get node "$node" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}') || return 1
  ss -Hltnp "sport = :$port" | sed -n 's/.*pid=\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# A CSV of N valid rows, written fast.
large_csv() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const out = require("fs").createWriteStream(process.argv[1]);
    const n = Number(process.argv[2]);
    let i = 0;
    (function more() {
      let ok = true;
      if (i === 0) out.write("product,price,quantity\n");
      while (i < n && ok) {
        let chunk = "";
        for (const end = Math.min(n, i + 10000); i < end; i++) chunk += `Halal Item ${i},${10 + (i % 1000)}.50,${1 + (i % 100)}\n`;
        ok = out.write(chunk);
      }
      if (i < n) out.once("drain", more); else out.end();
    })();
  ' "$1" "$2"
}

# Sessions of ours (the loader's application_name) in the database: there must be none once a load is over.
our_backends() { query "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sales-db'"; }

# copy_running UP_PID OUTPUT: waits until a COPY of ours runs in the e2e database, while `up` (UP_PID, writing to
# OUTPUT) is alive; if it never does, waits for `up`, shows its output and fails.
copy_running() {
  local copying=
  for _ in $(seq 1 600); do
    copying=$(query "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sales-db' AND query LIKE 'COPY%'" 2>/dev/null)
    [[ $copying == 1 ]] && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.2
  done
  wait "$1"
  cat "$2"
  echo "the seed's COPY was never seen running"
  return 1
}

# Freezes the forward's server (SIGSTOP: connections stay open, nothing answers, no byte moves) once a COPY of
# ours runs, then waits for `up` to fail. The server is thawed whatever happens.
cut_forward_during_seed() {
  local server up started=$SECONDS status
  server=$(forward_server_pid)
  [[ -n $server ]] || { echo "no process found serving the node's kubelet port"; return 1; }
  e2e_pulumi 150 up --yes --skip-preview >"$WORK/cut-up.txt" 2>&1 &
  up=$!
  copy_running "$up" "$WORK/cut-up.txt" || return 1
  kill -STOP "$server"
  started=$SECONDS
  wait "$up"
  status=$?
  CUT_SECONDS=$((SECONDS - started))
  kill -CONT "$server"
  cat "$WORK/cut-up.txt"
  echo "up exited $status ${CUT_SECONDS}s after the forward was cut"
  [[ $status -ne 0 ]]
}

cut_forward_checks() {
  local before previous
  before=$(query "SELECT product, price, quantity FROM sales ORDER BY product") || return 1
  previous=$(e2e_config get seedCsv)
  large_csv "$WORK/large.csv" 3000000 || return 1
  e2e_config set seedCsv "$WORK/large.csv" || return 1
  cut_forward_during_seed || return 1
  # Within the bound, with a line that says what broke and what to do.
  ((CUT_SECONDS <= TUNNEL_DEAD_AFTER + 20)) || { echo "up took ${CUT_SECONDS}s to fail"; return 1; }
  grep -q "stopped answering: no reply to pings and no bytes moved" "$WORK/cut-up.txt" &&
    grep -q "run pulumi up again once the cluster answers" "$WORK/cut-up.txt" || return 1
  # Once the forward is back, the kubelet has closed the abandoned session's connection, and PostgreSQL rolled back.
  for _ in $(seq 1 60); do [[ $(our_backends) == 0 ]] && break; sleep 0.5; done
  [[ $(our_backends) == 0 ]] || { echo "a backend of ours is still there"; return 1; }
  [[ $(query "SELECT product, price, quantity FROM sales ORDER BY product") == "$before" ]] || {
    echo "the old rows were not kept"
    return 1
  }
  # No pending operation for `pulumi refresh` to clear.
  timeout -k 10 60 pulumi --cwd "$ROOT" stack export --stack e2e >"$WORK/cut-state.json" || return 1
  node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    process.exit((s.deployment.pending_operations || []).length === 0 ? 0 : 1)' "$WORK/cut-state.json" || {
    echo "pending operations left in the state"
    return 1
  }
  # The next up loads at once: no lock is left to wait for.
  local started=$SECONDS
  e2e_pulumi 300 up --yes --skip-preview || return 1
  echo "the next up took $((SECONDS - started))s"
  [[ $(query "SELECT count(*) FROM sales") == 3000000 ]] || { echo "the large CSV did not load"; return 1; }
  e2e_config set seedCsv "$previous" && e2e_pulumi 300 up --yes --skip-preview
}

# The `connect` output: psql through a port-forward on a free port, and no port-forward left once psql exits.
connect_checks() {
  local script got
  script=$(timeout -k 10 60 pulumi --cwd "$ROOT" stack output connect --stack e2e) || return 1
  got=$(echo "SELECT count(*) FROM sales" | timeout -k 5 60 sh -c "$script" 2>"$WORK/connect.err") || {
    cat "$WORK/connect.err"
    return 1
  }
  cat "$WORK/connect.err"
  echo "$got"
  grep -q "the port-forward stops when psql exits" "$WORK/connect.err" && [[ $got == *" 4"* ]] || return 1
  for _ in $(seq 1 50); do
    pgrep -f "port-forward pod/postgres-0 :5432" >/dev/null || return 0
    sleep 0.2
  done
  echo "the port-forward outlived psql by 10s"
  return 1
}

# A namespace deleted by hand, behind Pulumi's back: an `up` that needs the database fails at once, naming what is
# gone and `pulumi up --refresh`, which then recreates everything and seeds again.
GONE_NS=sales-db-e2e-gone
deleted_namespace_checks() {
  local started status=0
  new_stack e2e-gone "namespace=$GONE_NS" seedWaitTimeout=120 "image=$E2E_POSTGRES_IMAGE" || return 1
  stack_on e2e-gone up --yes --skip-preview >/dev/null || return 1
  kubectl delete namespace "$GONE_NS" --wait --timeout=120s || return 1
  pulumi_ config set seedCsv "$WORK/sales-v2.csv" --stack e2e-gone --config-file "$WORK/Pulumi.e2e-gone.yaml" || return 1
  started=$SECONDS
  stack_on e2e-gone up --yes --skip-preview >"$WORK/gone-up.txt" 2>&1 && status=1
  cat "$WORK/gone-up.txt"
  echo "up failed after $((SECONDS - started))s"
  [[ $status -eq 0 ]] || { echo "up succeeded without its namespace"; return 1; }
  grep -q "its namespace $GONE_NS does not exist (deleted outside Pulumi?): run pulumi up --refresh" "$WORK/gone-up.txt" ||
    return 1
  stack_on e2e-gone up --refresh --yes --skip-preview >/dev/null || return 1
  expect_rows "$ROWS_V2" "$GONE_NS" || return 1
  stack_on e2e-gone destroy --yes --skip-preview >/dev/null
}

# readers-during-seed: one connection of its own counts the rows in a loop, through its own port-forward, while `up`
# reloads a changed CSV of 1M rows. Every answer must be the old count or the new one: never an error, never empty,
# never partial.
readers_during_seed() {
  local port previous status=0 reader old
  old=$(query "SELECT count(*) FROM sales") || return 1
  large_csv "$WORK/readers.csv" 1000000 || return 1
  port=$(free_port)
  start_forward "$NS" "$port" || return 1
  rm -f "$WORK/readers.stop"
  # shellcheck disable=SC2016 # JavaScript, not shell
  (cd "$ROOT" && PGPASSWORD=$PASSWORD timeout -k 5 600 node -e '
    const { Client } = require("pg");
    const fs = require("fs");
    const [port, stop, old, fresh] = process.argv.slice(1);
    const seen = { queries: 0, errors: 0, empty: 0, partial: 0, lastError: "" };
    (async () => {
      const client = new Client({ host: "127.0.0.1", port: Number(port), user: "sales", database: "sales_db" });
      client.on("error", () => undefined);
      await client.connect();
      while (!fs.existsSync(stop)) {
        seen.queries++;
        try {
          const n = Number((await client.query("SELECT count(*) AS n FROM sales")).rows[0].n);
          if (n === 0) seen.empty++;
          else if (n !== Number(old) && n !== Number(fresh)) seen.partial++;
        } catch (error) {
          seen.errors++;
          seen.lastError = error.message;
        }
      }
      await client.end();
      console.log(`readers: ${seen.queries} queries, ${seen.errors} errors, ${seen.empty} empty, ${seen.partial} partial` +
        (seen.lastError ? ` (last error: ${seen.lastError})` : ""));
    })().catch((error) => { console.log(`reader failed: ${error.message}`); process.exit(1); });
  ' "$port" "$WORK/readers.stop" "$old" 1000000 >"$WORK/readers.out" 2>&1) &
  reader=$!
  previous=$(e2e_config get seedCsv)
  e2e_config set seedCsv "$WORK/readers.csv" || status=1
  [[ $status -ne 0 ]] || e2e_pulumi 300 up --yes --skip-preview >/dev/null || status=1
  touch "$WORK/readers.stop"
  wait "$reader" || status=1
  stop_forward
  e2e_config set seedCsv "$previous" && e2e_pulumi 300 up --yes --skip-preview >/dev/null || status=1
  READERS=$(cat "$WORK/readers.out")
  echo "$READERS"
  [[ $status -eq 0 ]] || return 1
  [[ $READERS =~ ^readers:\ ([0-9]+)\ queries,\ 0\ errors,\ 0\ empty,\ 0\ partial$ ]] || return 1
  ((BASH_REMATCH[1] >= 100)) || { echo "fewer than 100 queries ran during the up"; return 1; }
}

# The hook run.sh calls while the e2e stack is up.
failure_steps() {
  step failing-preview failing_preview_checks
  step connect connect_checks
  step cut-forward cut_forward_checks
  step deleted-namespace deleted_namespace_checks
  # How long the up without its namespace took to fail, in the run's summary.
  grep -E '^up failed after' "$WORK/step.log" || true
  step readers-during-seed readers_during_seed
  [[ -z ${READERS:-} ]] || say "$READERS"
}
