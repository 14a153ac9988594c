#!/usr/bin/env bash
# Stops the e2e node that node-up.sh started and removes what it left, here and in the host's fixed places:
# CoreDNS, kube-proxy and its iptables rules, kubelet and its own iptables chains, every container task and its shim,
# containerd (all by PID), the mounts under $E2E_WORKDIR/node (volumes, rootfs snapshots, network namespaces), the
# bridge (and the br_netfilter setting node-up.sh changed), the kubepods cgroups, the pod log links in
# /var/log/containers, libcni's cached results, kubelet's device plugin socket in /var/lib/kubelet, and
# $E2E_WORKDIR/node itself. Safe to run twice, or after a crash.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
LOG_NAME=node

pid_of() { [[ -f $NODE_DIR/$1.pid ]] && cat "$NODE_DIR/$1.pid"; }

[[ -d $NODE_DIR ]] || exit 0
log "stopping node $NODE_NAME"
# CoreDNS (a process of the node, answering from the API) first.
coredns_pid=$(pid_of coredns) && stop_pids "$coredns_pid"
# kube-proxy, then its rules (both IP families), while kubelet and containerd still hold the node lock.
kube_proxy_pid=$(pid_of kube-proxy) && stop_pids "$kube_proxy_pid"
if [[ -x $E2E_BIN/kube-proxy ]] && ! timeout -k 5 60 "$E2E_BIN/kube-proxy" --cleanup >/dev/null 2>&1; then
  log "kube-proxy --cleanup failed: its iptables rules may be left"
fi
# Then kubelet, so that it restarts nothing; then every container (pods' and sandboxes'), so that their shims exit.
kubelet_pid=$(pid_of kubelet) && stop_pids "$kubelet_pid"
# kubelet's own chains, which it never removes: its firewall for 127.0.0.0/8 (jumped to from INPUT and OUTPUT) and
# its canaries. Still under the node lock.
for ipt in iptables ip6tables; do
  for hook in INPUT OUTPUT; do
    while "$ipt" -w 5 -t filter -D "$hook" -j KUBE-FIREWALL 2>/dev/null; do :; done
  done
  for chain in filter/KUBE-FIREWALL {filter,mangle,nat}/KUBE-KUBELET-CANARY mangle/KUBE-IPTABLES-HINT; do
    "$ipt" -w 5 -t "${chain%/*}" -F "${chain#*/}" 2>/dev/null && "$ipt" -w 5 -t "${chain%/*}" -X "${chain#*/}"
  done
done
containers=()
if [[ -S $CONTAINERD_SOCK ]]; then
  # (A pod sandbox's id is its pause container's: libcni names its cached results after it.)
  mapfile -t containers < <(ctr_ -n k8s.io containers ls -q 2>/dev/null)
  for task in $(ctr_ -n k8s.io tasks ls -q 2>/dev/null); do
    ctr_ -n k8s.io tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1
  done
  for _ in $(seq 1 25); do
    ctr_ -n k8s.io tasks ls 2>/dev/null | grep -q RUNNING || break
    sleep 0.2
  done
  for task in $(ctr_ -n k8s.io tasks ls -q 2>/dev/null); do
    ctr_ -n k8s.io tasks delete -f "$task" >/dev/null 2>&1
  done
fi
containerd_pid=$(pid_of containerd) && stop_pids "$containerd_pid"
# The shims (-address …/containerd.sock), and a kubelet or containerd whose pid file a crash lost.
# shellcheck disable=SC2046 # one PID per word
stop_pids $(pids_naming "$NODE_DIR")

# Mounts under the node's folder, deepest first: pod volumes, container rootfs, /dev/shm, network namespaces.
findmnt -rn -o TARGET | grep -F -- "$NODE_DIR/" | sort -r | while read -r target; do
  umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null
done
ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && ip link delete "$CNI_BRIDGE"
[[ -f $NODE_DIR/bridge-nf-call-iptables.before ]] &&
  cat "$NODE_DIR/bridge-nf-call-iptables.before" >/proc/sys/net/bridge/bridge-nf-call-iptables
# kubelet's cgroups (cgroupfs driver, cgroup root /): empty once every container is gone.
for dir in /sys/fs/cgroup/*/kubepods; do
  [[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
done
# kubelet links every container's log into /var/log/containers, whatever podLogsDir says.
for link in /var/log/containers/*; do
  [[ -L $link && $(readlink "$link") == "$NODE_DIR/"* ]] && rm -f "$link"
done
# libcni caches every attachment (our bridge's and containerd's loopback) in /var/lib/cni/results.
for id in "${containers[@]}"; do rm -f /var/lib/cni/results/*-"$id"-*; done
rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
# kubelet's device plugin socket has a fixed path, whatever --root-dir says.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers 2>/dev/null
rm -rf "$NODE_DIR"
log "node $NODE_NAME is down"
