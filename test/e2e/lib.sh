# shellcheck shell=bash
# Helpers every e2e script shares (sourced by run.sh and cluster/common.sh): log lines, a free port, stopping
# processes by PID, and kubectl and helm bounded so that a silent API server cannot hang the run.

# log MESSAGE...: `[LOG_NAME HH:MM:SS] MESSAGE` on stderr (each script sets LOG_NAME).
log() { printf '[%s %s] %s\n' "${LOG_NAME:-e2e}" "$(date +%H:%M:%S)" "$*" >&2; }
fail() {
  log "$*"
  exit 1
}

# A TCP port free on 127.0.0.1 right now, as the system picks it.
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# stop_pids PID...: TERM, up to 10 s for them to go, then KILL.
stop_pids() {
  local pid alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=""
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
    [[ -z $alive ]] && return 0
    sleep 0.2
  done
  for pid in $alive; do kill -KILL "$pid" 2>/dev/null || true; done
}

# Every kubectl and helm call is bounded (a wait's own --timeout stays under it); `timeout` runs the binaries.
kubectl() { timeout -k 5 300 kubectl "$@"; }
helm() { timeout -k 5 300 helm "$@"; }
