# Pinned versions of the hermetic e2e toolchain (sourced by build.sh,
# install-plugins.sh and ../cluster/*.sh). The module versions themselves are
# pinned by the go.mod/go.sum of each wrapper module next to this file; these
# strings are what the binaries report and what plugins are installed as.
# shellcheck shell=bash disable=SC2034

PULUMI_VERSION=3.248.0
# Our own language host (the upstream module is not served by the Go module
# proxy, see README.md); reports the version of the Pulumi SDK it is built with.
PULUMI_LANGUAGE_NODEJS_VERSION=3.248.0
# Version the kubernetes resource plugin is installed (and reports itself) as.
# The binary is built from provider/v4 commit f47bc2d6f199 (see README.md); the
# TypeScript side must pin npm @pulumi/kubernetes to exactly this version.
PULUMI_KUBERNETES_VERSION=4.25.0
PULUMI_KUBERNETES_COMMIT=f47bc2d6f1996444d11c12b4ef083b82585f7c07
KUBE_VERSION=1.34.4
KUBE_GIT_COMMIT=
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
HELM_VERSION=3.22.0
ACTIONLINT_VERSION=1.7.12
COREDNS_VERSION=1.14.7
CNPG_VERSION=1.28.0

SALES_DB_E2E_CACHE=${SALES_DB_E2E_CACHE:-$HOME/.cache/sales-db-e2e}
E2E_BIN=$SALES_DB_E2E_CACHE/bin
# Resource plugins are kept off PATH: the CLI would otherwise use them as
# "ambient" plugins (with a warning) instead of the versioned copy that
# install-plugins.sh puts into PULUMI_HOME.
E2E_PLUGIN_BIN=$SALES_DB_E2E_CACHE/plugin-bin
# Binaries that go into images (../image/build.sh), not onto PATH.
E2E_IMAGE_BIN=$SALES_DB_E2E_CACHE/image-bin
