// The `connect` outputs: a psql through a port-forward on a free local port (not 5432, where a local PostgreSQL
// may listen), which stops when psql exits. A script for sh: sh -c "$(pulumi stack output connect)".

export interface ConnectCommand {
  readonly namespace: string;
  /** What kubectl forwards to: `pod/postgres-0`, or `svc/postgres-rw` (the Service picks its pod). */
  readonly forward: string;
  readonly port: number;
  readonly secretName: string;
  readonly secretKey: string;
  readonly user: string;
  readonly database: string;
  /** Verify the server against this CA Secret's `ca.crt`, for the name its certificate carries. */
  readonly tls?: { readonly caSecret: string; readonly servername: string };
}

export function connectCommand(c: ConnectCommand): string {
  const ca = c.tls ? `; ca=$(mktemp)` : "";
  const removeCa = c.tls ? ` "$ca"` : "";
  const fetchCa = c.tls
    ? `kubectl -n ${c.namespace} get secret ${c.tls.caSecret} -o jsonpath='{.data.ca\\.crt}' | base64 -d >"$ca"\n`
    : "";
  // libpq checks the certificate against host while it connects to hostaddr, the tunnel.
  const psql = c.tls
    ? `psql "host=${c.tls.servername} hostaddr=127.0.0.1 port=$port sslmode=verify-full sslrootcert=$ca user=${c.user} dbname=${c.database}"`
    : `psql -h 127.0.0.1 -p "$port" -U ${c.user} -d ${c.database}`;
  return `log=$(mktemp)${ca}; kubectl -n ${c.namespace} port-forward ${c.forward} :${c.port} >"$log" 2>&1 & pf=$!
trap 'kill $pf 2>/dev/null; rm -f "$log"${removeCa}' EXIT
for i in $(seq 100); do port=$(sed -n 's/^Forwarding from 127.0.0.1:\\([0-9]*\\) .*/\\1/p' "$log"); [ -n "$port" ] && break; sleep 0.1; done
[ -n "$port" ] || { cat "$log" >&2; exit 1; }
${fetchCa}echo "psql via 127.0.0.1:$port -> ${c.forward}:${c.port}; the port-forward stops when psql exits" >&2
PGPASSWORD="$(kubectl -n ${c.namespace} get secret ${c.secretName} -o jsonpath='{.data.${c.secretKey}}' | base64 -d)" ${psql}`;
}
