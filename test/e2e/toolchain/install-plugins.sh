#!/usr/bin/env bash
# Installs the locally built Pulumi resource plugin(s) into a PULUMI_HOME so that
# the CLI finds them with PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true.
#
# usage: test/e2e/toolchain/install-plugins.sh PULUMI_HOME
#
# Prints the `export` lines an e2e test needs (PATH with the toolchain bin dir
# first, PULUMI_HOME, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ...); eval them
# or copy what you need. The language host (pulumi-language-nodejs) is found on
# PATH next to the pulumi binary and needs no installation.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.sh
source "$HERE/versions.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PULUMI_HOME" >&2
  exit 2
fi
mkdir -p "$1"
PULUMI_HOME=$(cd "$1" && pwd)
export PULUMI_HOME
export PATH=$E2E_BIN:$PATH
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true

for b in "$E2E_BIN/pulumi" "$E2E_BIN/pulumi-language-nodejs" "$E2E_PLUGIN_BIN/pulumi-resource-kubernetes"; do
  if [[ ! -x $b ]]; then
    echo "$b is missing: run $HERE/build.sh first" >&2
    exit 1
  fi
done

plugin_dir=$PULUMI_HOME/plugins/resource-kubernetes-v$PULUMI_KUBERNETES_VERSION
if [[ -x $plugin_dir/pulumi-resource-kubernetes ]] &&
  cmp -s "$plugin_dir/pulumi-resource-kubernetes" "$E2E_PLUGIN_BIN/pulumi-resource-kubernetes"; then
  echo "kubernetes v$PULUMI_KUBERNETES_VERSION already installed in $PULUMI_HOME" >&2
else
  # --file installs the given binary instead of downloading anything.
  pulumi plugin install resource kubernetes "$PULUMI_KUBERNETES_VERSION" \
    --file "$E2E_PLUGIN_BIN/pulumi-resource-kubernetes" --reinstall >&2
fi

cat <<EOF
export PATH=$E2E_BIN:\$PATH
export PULUMI_HOME=$PULUMI_HOME
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
EOF
