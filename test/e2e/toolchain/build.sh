#!/usr/bin/env bash
# Builds the hermetic e2e toolchain from Go modules served by the Go module proxy
# into ${SALES_DB_E2E_CACHE:-$HOME/.cache/sales-db-e2e}/bin. Nothing is downloaded
# from anywhere else. Idempotent: a tool whose stamp (pinned version + hash of its
# wrapper module + go version + ldflags) matches and whose binaries exist is skipped.
#
# usage: test/e2e/toolchain/build.sh [tool...]
#   tools: pulumi pulumi-language-nodejs kubernetes-provider kubernetes etcd kwok helm
#   (default: all). Env: SALES_DB_E2E_CACHE, E2E_BUILD_NICE (default 10),
#   E2E_DOWNLOAD_RETRIES (default 5), E2E_FORCE_REBUILD=1 to ignore stamps.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
source "$HERE/versions.sh"

export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=local
export CGO_ENABLED=0
# -mod=readonly: the committed go.mod/go.sum are the pin; never rewrite them.
export GOFLAGS="-mod=readonly -buildvcs=false"
NICE=${E2E_BUILD_NICE:-10}
RETRIES=${E2E_DOWNLOAD_RETRIES:-5}
STAMPS=$SALES_DB_E2E_CACHE/stamps
mkdir -p "$E2E_BIN" "$STAMPS"

ALL_TOOLS=(pulumi pulumi-language-nodejs kubernetes-provider kubernetes etcd kwok helm)

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# go mod download with retries (the proxy occasionally answers 5xx / resets).
download() {
  local dir=$1 attempt=1 delay=2
  while true; do
    if (cd "$dir" && nice -n "$NICE" go mod download 2>"$SALES_DB_E2E_CACHE/download.err"); then
      return 0
    fi
    if ((attempt >= RETRIES)); then
      log "go mod download failed in $dir after $attempt attempts:"
      cat "$SALES_DB_E2E_CACHE/download.err" >&2
      return 1
    fi
    log "go mod download failed (attempt $attempt/$RETRIES), retrying in ${delay}s: $(tail -n1 "$SALES_DB_E2E_CACHE/download.err")"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2))
  done
}

# Per-tool definition: sets PKGS (import paths, built into $E2E_BIN under their
# base name), LDFLAGS, LABEL (human-readable version) and TAGS.
define_tool() {
  TAGS=""
  case $1 in
    pulumi)
      PKGS=(github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
      LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
      LABEL="pulumi v$PULUMI_VERSION"
      ;;
    pulumi-language-nodejs)
      PKGS=(sales-db-e2e/toolchain/pulumi-language-nodejs)
      LDFLAGS="-X main.version=$PULUMI_LANGUAGE_NODEJS_VERSION"
      LABEL="pulumi-language-nodejs (own implementation) v$PULUMI_LANGUAGE_NODEJS_VERSION"
      ;;
    kubernetes-provider)
      PKGS=(github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes)
      LDFLAGS="-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION"
      LABEL="pulumi-resource-kubernetes v$PULUMI_KUBERNETES_VERSION (commit ${PULUMI_KUBERNETES_COMMIT:0:12})"
      ;;
    kubernetes)
      PKGS=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
        k8s.io/kubernetes/cmd/kube-scheduler)
      local minor=${KUBE_VERSION#*.}
      minor=${minor%%.*}
      LDFLAGS=""
      local k v kv
      for kv in "gitVersion=v$KUBE_VERSION" "gitMajor=${KUBE_VERSION%%.*}" "gitMinor=$minor" \
        "gitTreeState=clean" "gitCommit=${KUBE_GIT_COMMIT:-unknown}" "buildDate=1970-01-01T00:00:00Z"; do
        k=${kv%%=*} v=${kv#*=}
        LDFLAGS+=" -X k8s.io/component-base/version.$k=$v -X k8s.io/client-go/pkg/version.$k=$v"
      done
      TAGS="selinux,notest"
      LABEL="kube-apiserver/kube-controller-manager/kube-scheduler v$KUBE_VERSION"
      ;;
    etcd)
      PKGS=(go.etcd.io/etcd/server/v3)
      LDFLAGS=""
      LABEL="etcd v$ETCD_VERSION"
      ;;
    kwok)
      PKGS=(sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
      LDFLAGS="-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBE_VERSION"
      LABEL="kwok/kwokctl v$KWOK_VERSION"
      ;;
    helm)
      PKGS=(helm.sh/helm/v3/cmd/helm)
      # Same as helm's Makefile: client-go v0.X.Y => Kubernetes 1.X.
      local cg
      cg=$(cd "$HERE/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)
      cg=${cg#v0.}
      cg=${cg%%.*}
      LDFLAGS="-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
      LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$cg"
      LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$cg"
      LABEL="helm v$HELM_VERSION"
      ;;
    *)
      log "unknown tool: $1 (known: ${ALL_TOOLS[*]})"
      return 1
      ;;
  esac
}

stamp_of() {
  local tool=$1
  {
    echo "$tool $LABEL"
    go version
    echo "ldflags=$LDFLAGS tags=$TAGS pkgs=${PKGS[*]} CGO_ENABLED=$CGO_ENABLED"
    # Everything in the wrapper module (go.mod, go.sum, sources).
    (cd "$HERE/$tool" && find . -type f | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | cut -d' ' -f1
}

build_tool() {
  local tool=$1
  define_tool "$tool"
  local stamp_file=$STAMPS/$tool stamp outputs=() p
  stamp=$(stamp_of "$tool")
  for p in "${PKGS[@]}"; do outputs+=("$E2E_BIN/${p##*/}"); done
  # go.etcd.io/etcd/server/v3 builds a binary named "server"; name it etcd.
  [[ $tool == etcd ]] && outputs=("$E2E_BIN/etcd")

  local missing=0
  for p in "${outputs[@]}"; do [[ -x $p ]] || missing=1; done
  if [[ ${E2E_FORCE_REBUILD:-0} != 1 && $missing == 0 && -f $stamp_file ]] &&
    [[ "$(head -n1 "$stamp_file")" == "$stamp" ]]; then
    log "$tool: up to date ($LABEL)"
    return 0
  fi

  log "$tool: building $LABEL"
  local start=$SECONDS
  download "$HERE/$tool"
  local tmp
  tmp=$(mktemp -d "$SALES_DB_E2E_CACHE/build.XXXXXX")
  local tagargs=()
  [[ -n $TAGS ]] && tagargs=(-tags "$TAGS")
  if ! (cd "$HERE/$tool" && nice -n "$NICE" go build -trimpath "${tagargs[@]}" \
    -ldflags "-s -w $LDFLAGS" -o "$tmp/" "${PKGS[@]}"); then
    rm -rf "$tmp"
    log "$tool: BUILD FAILED"
    return 1
  fi
  [[ $tool == etcd ]] && mv "$tmp/server" "$tmp/etcd"
  for p in "${outputs[@]}"; do mv -f "$tmp/${p##*/}" "$p"; done
  rm -rf "$tmp"
  printf '%s\n%s\nbuilt in %ss\n' "$stamp" "$LABEL" "$((SECONDS - start))" >"$stamp_file"
  log "$tool: built in $((SECONDS - start))s -> ${outputs[*]}"
}

tools=("$@")
((${#tools[@]})) || tools=("${ALL_TOOLS[@]}")
total_start=$SECONDS
for t in "${tools[@]}"; do
  build_tool "$t"
done
log "done in $((SECONDS - total_start))s; binaries in $E2E_BIN"
