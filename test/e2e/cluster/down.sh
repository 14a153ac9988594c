#!/usr/bin/env bash
# Stops the e2e cluster started by up.sh and removes its state: the node
# (node-down.sh: kubelet, containers, containerd and what they left on the host),
# kwokctl delete, then kills (by PID) any component process of this cluster that is still alive
# (e.g. after a crash), and removes $E2E_WORKDIR/{kwok,pv,kubeconfig,...}.
# Same env as up.sh (SALES_DB_E2E_CACHE, E2E_WORKDIR, E2E_CLUSTER_NAME).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
LOG_NAME=cluster
cluster_dir=$KWOK_WORKDIR/clusters/$E2E_CLUSTER_NAME

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
  pids_naming "$cluster_dir"
}

"$HERE/node-down.sh"
pids=$(cluster_pids | sort -u | tr '\n' ' ')
if [[ -d $cluster_dir && -x $E2E_BIN/kwokctl ]]; then
  log "deleting cluster $E2E_CLUSTER_NAME"
  timeout -k 10 120 "$E2E_BIN/kwokctl" delete cluster --name "$E2E_CLUSTER_NAME" \
    --kubeconfig "$E2E_WORKDIR/kubeconfig" >"$E2E_WORKDIR/kwokctl-delete.log" 2>&1 ||
    log "kwokctl delete cluster failed (see $E2E_WORKDIR/kwokctl-delete.log); killing processes"
fi
# Whatever kwokctl did not stop (or a crash left without its cluster dir): TERM, then KILL.
# shellcheck disable=SC2086 # one PID per word
[[ -z ${pids// /} ]] || stop_pids $pids

# The small volume's loop mount (up.sh): its loop device goes with it (mount -o loop sets autoclear).
if mountpoint -q "$E2E_WORKDIR/pv/small"; then umount "$E2E_WORKDIR/pv/small" || umount -l "$E2E_WORKDIR/pv/small"; fi
rm -rf "$KWOK_WORKDIR" "$E2E_WORKDIR/pv" "$E2E_WORKDIR/kubeconfig" "$E2E_WORKDIR/cluster.env"
log "cluster $E2E_CLUSTER_NAME is down"
