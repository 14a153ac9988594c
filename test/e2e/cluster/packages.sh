#!/usr/bin/env bash
# Installs the Debian packages the e2e node and image need, only those that are missing (CI starts from a clean
# machine; a warm machine pays one dpkg-query): containerd 1.6 and runc (the runtime), containernetworking-plugins
# (bridge, host-local, loopback), catatonit (the pause process), busybox-static and umoci (the PostgreSQL image),
# debian-archive-keyring (which checks the trixie packages of that image), postgresql-client (psql on the host).
set -euo pipefail

PACKAGES=(containerd runc containernetworking-plugins catatonit busybox-static umoci debian-archive-keyring
  postgresql-client)

missing=()
for p in "${PACKAGES[@]}"; do
  [[ $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

printf '[packages %s] installing %s\n' "$(date +%H:%M:%S)" "${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
timeout -k 10 300 apt-get update -qq >&2
# --no-install-recommends: containerd would otherwise pull in tools the run never uses. The packages' service
# scripts do not start a containerd of their own where no init system runs; the e2e starts its own.
timeout -k 10 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
