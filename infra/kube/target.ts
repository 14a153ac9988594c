// What a tunnel reaches, and the bounds of every phase of it: shared by the API client, the tunnel and each
// forwarded connection.

/** Which pod and port to forward, on which cluster (the kubeconfig's current context unless `context` is set). */
export interface PodTarget {
  readonly namespace: string;
  /** The pod's name; with `selector`, the name of what it selects (a CloudNativePG cluster), for messages. */
  readonly pod: string;
  /**
   * A label selector: the tunnel goes to the Ready pod it selects when it opens, looked up then and never stored
   * (a cluster's primary, which a failover moves). Unset: the pod named `pod`.
   */
  readonly selector?: string;
  readonly port: number;
  readonly context?: string;
}

/** The bounds of every phase of a tunnel; docs/decisions.md quotes the defaults, the README's limitations some. */
export interface TunnelLimits {
  /** One request to the Kubernetes API: reading the pod, or the websocket handshake of a port-forward. */
  readonly requestMs: number;
  /** How long the pod may take to exist and become Ready: the only API state worth waiting for. */
  readonly podReadyMs: number;
  /** How often each forwarded connection pings the API. */
  readonly heartbeatMs: number;
  /**
   * A connection is dead when, for this long, the API has neither taken the bytes we hand it nor (if it answered
   * pings before) answered a ping.
   */
  readonly silenceMs: number;
}

export const TUNNEL_LIMITS: TunnelLimits = {
  requestMs: 10_000,
  podReadyMs: 120_000,
  heartbeatMs: 5_000,
  silenceMs: 20_000,
};
