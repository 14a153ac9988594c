#!/usr/bin/env bash
# Stops the e2e cluster started by up.sh and removes its state: the node
# (node-down.sh: kubelet, containers, containerd and what they left on the host),
# kwokctl delete, then kills (by PID) any component process of this cluster that is still alive
# (e.g. after a crash), and removes $E2E_WORKDIR/{kwok,pv,kubeconfig,...}.
# Same env as up.sh (SALES_DB_E2E_CACHE, E2E_WORKDIR, E2E_CLUSTER_NAME).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"

E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
E2E_CLUSTER_NAME=${E2E_CLUSTER_NAME:-sales-db-e2e}
export KWOK_WORKDIR=$E2E_WORKDIR/kwok
cluster_dir=$KWOK_WORKDIR/clusters/$E2E_CLUSTER_NAME

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# PIDs of this cluster's components: kwokctl's pid files, plus any process whose
# command line mentions this cluster's directory (a crash may have lost a pid file).
cluster_pids() {
  local f pid
  if [[ -d $cluster_dir/pids ]]; then
    for f in "$cluster_dir"/pids/*.pid; do
      [[ -f $f ]] || continue
      pid=$(<"$f")
      [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
    done
  fi
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [[ $pid == "$$" ]] && continue
    if { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF -- "$cluster_dir/"; then
      echo "$pid"
    fi
  done | sort -u
}

"$HERE/node-down.sh"
pids=$(cluster_pids | sort -u | tr '\n' ' ')
if [[ -d $cluster_dir && -x $E2E_BIN/kwokctl ]]; then
  log "deleting cluster $E2E_CLUSTER_NAME"
  "$E2E_BIN/kwokctl" delete cluster --name "$E2E_CLUSTER_NAME" \
    --kubeconfig "$E2E_WORKDIR/kubeconfig" >"$E2E_WORKDIR/kwokctl-delete.log" 2>&1 ||
    log "kwokctl delete cluster failed (see $E2E_WORKDIR/kwokctl-delete.log); killing processes"
fi
# Whatever kwokctl did not stop (or a crash left without its cluster dir): TERM, then KILL.
alive=""
for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
if [[ -n $alive ]]; then
  log "waiting for / stopping processes:$alive"
  for pid in $alive; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    still=""
    for pid in $alive; do kill -0 "$pid" 2>/dev/null && still+=" $pid"; done
    [[ -z $still ]] && break
    sleep 0.2
  done
  for pid in $still; do kill -KILL "$pid" 2>/dev/null || true; done
fi

rm -rf "$KWOK_WORKDIR" "$E2E_WORKDIR/pv" "$E2E_WORKDIR/kubeconfig" "$E2E_WORKDIR/cluster.env"
log "cluster $E2E_CLUSTER_NAME is down"
