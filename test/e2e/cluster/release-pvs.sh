#!/usr/bin/env bash
# Makes every Released PersistentVolume of the e2e cluster Available again by
# dropping its claimRef (the PVs use reclaimPolicy Retain and there is no
# provisioner/recycler). Run it after deleting PVCs (e.g. after `pulumi destroy`)
# when the next test should get fresh volumes. Also wipes their local volume data.
# Env: KUBECONFIG (default $E2E_WORKDIR/kubeconfig).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../toolchain/versions.sh
source "$HERE/../toolchain/versions.sh"
E2E_WORKDIR=${E2E_WORKDIR:-$SALES_DB_E2E_CACHE/run}
export KUBECONFIG=${KUBECONFIG:-$E2E_WORKDIR/kubeconfig}

kubectl get pv -l e2e.sales-db/pv=true \
  -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{.spec.local.path}{"\n"}{end}' |
  while read -r pv path; do
    [[ -n $pv ]] || continue
    if [[ -n $path && $path == "$E2E_WORKDIR"/pv/* ]]; then
      rm -rf "${path:?}"/* 2>/dev/null || true
    fi
    kubectl patch pv "$pv" --type=json -p='[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
    echo "[cluster] released $pv" >&2
  done
