#!/usr/bin/env bash
# Fails loudly unless a pod reaches another pod through a Service's ClusterIP, found in the service environment
# variables kubelet injects: the path that kube-proxy's rules, the pods' route to the Service range and br_netfilter
# on the bridge make; and unless the cluster's DNS (CoreDNS behind kube-system/kube-dns) gives that ClusterIP for the
# Service's three names: <svc>.<ns>.svc.cluster.local, <svc>.<ns>.svc and <svc> (the pod's search list). Both pods run
# the PostgreSQL image (busybox's httpd and nc; psql, whose glibc resolver is the one libpq and PostgreSQL use), never
# pulled, in the namespace default; nothing of them is left. Run by up.sh, and after the node-restart fault step.
#
# Env: what common.sh reads, and E2E_POSTGRES_IMAGE (from ../image/build.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$HERE/common.sh"
LOG_NAME=service-check
start=$SECONDS
[[ -n ${E2E_POSTGRES_IMAGE:-} ]] || fail "E2E_POSTGRES_IMAGE is not set: eval the output of ../image/build.sh first"

NAME=e2e-service-check
LABEL=e2e.sales-db/service-check
remove() { kubectl -n default delete pod,service -l "$LABEL" --ignore-not-found "$@" >/dev/null; }
trap 'remove --wait=false || log "could not remove the pods and Service of the check"' EXIT
remove --wait=true --timeout=60s
# A pod is admitted once the controller manager has made the namespace's service account.
for _ in $(seq 1 120); do
  kubectl -n default get serviceaccount default >/dev/null 2>&1 && break
  sleep 0.5
done

# pod NAME SCRIPT: a pod of the image, running SCRIPT with sh as the image's user.
pod() {
  cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {$LABEL: "$1"}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  containers:
  - name: main
    image: $E2E_POSTGRES_IMAGE
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - |
EOF
  printf '%s\n' "$2" | sed 's/^/      /'
}
{
  pod "$NAME-server" 'mkdir -p /tmp/www && echo service-check-ok >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'
  cat <<EOF
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME, labels: {$LABEL: service}}
spec:
  selector: {$LABEL: $NAME-server}
  ports: [{port: 80, targetPort: 8080}]
EOF
} | kubectl apply -f - >/dev/null
kubectl -n default wait --for=condition=Ready --timeout=60s "pod/$NAME-server" >/dev/null ||
  fail "the server pod of the check is not Ready: $(kubectl -n default get pod "$NAME-server" -o wide --no-headers)"

# The client is created after the Service, so that kubelet gives it the Service's variables. kube-proxy writes the
# rules for the new endpoint within seconds: the client tries for 30 s. Each name must resolve to the ClusterIP:
# psql names the address it connects to (httpd's answer is no PostgreSQL's: the connection then fails). busybox's own
# lookups cannot tell: its nslookup tries the last search domain only, and its static glibc's getaddrinfo crashes
# against the image's newer libc.
# shellcheck disable=SC2016 # expanded in the pod
pod "$NAME-client" 'end=$(($(date +%s) + 30))
ok=
while [ "$(date +%s)" -lt "$end" ]; do
  printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 "$E2E_SERVICE_CHECK_SERVICE_HOST" "$E2E_SERVICE_CHECK_SERVICE_PORT" |
    grep -q service-check-ok && { ok=1; break; }
  sleep 1
done
[ -n "$ok" ] || { echo "no answer from $E2E_SERVICE_CHECK_SERVICE_HOST:$E2E_SERVICE_CHECK_SERVICE_PORT"; exit 1; }
for name in e2e-service-check.default.svc.cluster.local e2e-service-check.default.svc e2e-service-check; do
  out=$(psql "host=$name port=$E2E_SERVICE_CHECK_SERVICE_PORT connect_timeout=3 sslmode=disable user=x dbname=x" 2>&1)
  case $out in
    *"\"$name\" ($E2E_SERVICE_CHECK_SERVICE_HOST)"*) ;;
    *) echo "the name $name does not resolve to $E2E_SERVICE_CHECK_SERVICE_HOST: $out"; exit 1 ;;
  esac
done' | kubectl apply -f - >/dev/null
phase=
for _ in $(seq 1 90); do
  phase=$(kubectl -n default get pod "$NAME-client" -o jsonpath='{.status.phase}' 2>/dev/null) || phase=
  [[ $phase == Succeeded || $phase == Failed ]] && break
  sleep 1
done
if [[ $phase != Succeeded ]]; then
  log "client pod: ${phase:-no phase}; its log: $(kubectl -n default logs "$NAME-client" 2>&1 | tail -n 3)"
  kill -0 "$(cat "$NODE_DIR/kube-proxy.pid" 2>/dev/null)" 2>/dev/null || log "kube-proxy is not running"
  log "kube-proxy's log ends with:"
  tail -n 10 "$NODE_DIR/kube-proxy.log" >&2
  kill -0 "$(cat "$NODE_DIR/coredns.pid" 2>/dev/null)" 2>/dev/null || log "CoreDNS is not running"
  log "CoreDNS's log ends with:"
  tail -n 5 "$NODE_DIR/coredns.log" >&2
  fail "a pod cannot reach a Service by its ClusterIP or its names: check kube-proxy, the pods' route to" \
    "$SERVICE_SUBNET, br_netfilter and CoreDNS"
fi
log "a pod reached another through the Service $NAME, and resolved its names, in $((SECONDS - start))s"
