// Where a PostgreSQL of the stack is, for the provider code that connects to it (the seed, the password rotation).

/** How to reach PostgreSQL: a port-forward to the pod through the Kubernetes API, or a host this machine reaches. */
export type DatabaseTarget =
  | {
      readonly mode: "port-forward";
      readonly namespace: string;
      /** The pod; with `selector`, the cluster whose selected pod (its primary) the tunnel goes to. */
      readonly pod: string;
      /** A label selector resolved when the tunnel opens (see kube/target.ts). Unset: the pod named `pod`. */
      readonly selector?: string;
      readonly port: number;
      /** The Secret holding the password, read by the methods that get no secret inputs (read, delete). */
      readonly secretName: string;
      readonly secretKey: string;
      readonly context?: string;
      readonly tls?: TlsTarget;
    }
  | { readonly mode: "direct"; readonly host: string; readonly port: number; readonly tls?: TlsTarget };

/**
 * TLS verified against a CA kept in a Secret (CloudNativePG's `<cluster>-ca`), for the server's certificate name
 * `servername` (the tunnel's 127.0.0.1 is not in it). Unset: the connection string's sslmode, as for the chart.
 */
export interface TlsTarget {
  readonly namespace: string;
  readonly secretName: string;
  readonly secretKey: string;
  readonly servername: string;
  readonly context?: string;
}

/** A database and role on a target, and how long to wait for the pod and the server. */
export interface DatabaseAccess {
  readonly target: DatabaseTarget;
  readonly database: string;
  readonly user: string;
  readonly waitTimeoutSeconds: number;
}
