// Where a PostgreSQL of the stack is, for the provider code that connects to it (the seed, the password rotation).

/** How to reach PostgreSQL: a port-forward to the pod through the Kubernetes API, or a host this machine reaches. */
export type DatabaseTarget =
  | {
      readonly mode: "port-forward";
      readonly namespace: string;
      readonly pod: string;
      readonly port: number;
      /** The Secret holding the password, read by the methods that get no secret inputs (read, delete). */
      readonly secretName: string;
      readonly secretKey: string;
      readonly context?: string;
    }
  | { readonly mode: "direct"; readonly host: string; readonly port: number };

/** A database and role on a target, and how long to wait for the pod and the server. */
export interface DatabaseAccess {
  readonly target: DatabaseTarget;
  readonly database: string;
  readonly user: string;
  readonly waitTimeoutSeconds: number;
}
