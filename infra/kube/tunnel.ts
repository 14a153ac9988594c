// A local port forwarded to a pod through the Kubernetes API (like `kubectl port-forward`, without kubectl), and
// the bounds of every phase of it.
import { createServer, type Server } from "node:net";
import type WebSocket from "ws";
import { SalesDbError } from "../../loader/errors";
import { apiServer, isNotFound, kubeConfig, requestTimeout, waitForReadyPod, type ReadyPod } from "./api";
import type { K8s } from "./client";
import { forwardConnection } from "./port-forward-connection";
import { TUNNEL_LIMITS, type PodTarget, type TunnelLimits } from "./target";

/** A local loopback port forwarded to a pod, like `kubectl port-forward`, but through the client library. */
export interface Tunnel {
  readonly host: string;
  readonly port: number;
  /** Where the tunnel goes, for messages: `pod sales-db-dev/postgres-0 through the Kubernetes API at https://…`. */
  readonly description: string;
  /** What the Kubernetes API or the pod last said went wrong, if anything. */
  lastError(): string | undefined;
  /** Set once the path through the API is dead or refused: waiting longer cannot help. */
  failure(): SalesDbError | undefined;
  /** Rejects with `failure()` as soon as it is set; never resolves. */
  readonly broken: Promise<never>;
  close(): Promise<void>;
}

/**
 * Waits for the pod to be Ready, then listens on 127.0.0.1 (a free port) and forwards each connection to the
 * pod's port through the API server's `pods/portforward` subresource. No kubectl subprocess.
 *
 * A refused, unauthorized or unreachable API fails at once, quoting the API; only a missing or unready pod is
 * waited for. Each forwarded connection closes both of its sides when either side closes or fails, and is
 * declared dead when the API stops answering pings and taking bytes (`limits.silenceMs`). While connections are
 * open, the pod is read every `limits.heartbeatMs`: once it is gone or replaced, every connection is ended (a
 * kubelet may keep forwarding to a pod that no longer exists, and the API still answers pings).
 */
export async function openPortForward(
  target: PodTarget,
  limits: TunnelLimits = TUNNEL_LIMITS,
): Promise<Tunnel> {
  const { k8s, config } = await kubeConfig(target.context);
  const server = apiServer(config);
  const ready = await waitForReadyPod(k8s, config, target, limits);
  const pod = ready.name;
  const where = `pod ${target.namespace}/${pod} through the Kubernetes API at ${server}`;

  let lastError: string | undefined;
  let failure: SalesDbError | undefined;
  let fail: (error: SalesDbError) => void = () => undefined;
  const broken = new Promise<never>((_resolve, reject) => (fail = reject));
  broken.catch(() => undefined); // observed by whoever races it; never an unhandled rejection
  const connections = new Set<() => void>();
  const markBroken = (message: string) => {
    if (failure) return;
    failure = new SalesDbError("kube_api", `the port-forward to ${where} ${message}`);
    // Rejected before any socket is closed, so that a race sees the cause before the symptoms.
    fail(failure);
    for (const close of connections) close();
  };

  const url =
    server.replace(/^http/, "ws").replace(/\/$/, "") +
    `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(pod)}` +
    `/portforward?ports=${target.port}`;
  const options: WebSocket.ClientOptions = {
    handshakeTimeout: limits.requestMs,
    // Over TLS, frames go unmasked (a zero key, which ws then skips): masking keeps a browser's script from
    // shaping bytes that a plain-text proxy on the way could take for HTTP, and no proxy reads a TLS stream.
    // Unmasked, the load's bytes skip a JavaScript XOR loop and a copy (about 70 ms of CPU per 36 MB).
    ...(url.startsWith("wss:") ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
  };
  await config.applyToHTTPSOptions(options);

  const listener: Server = createServer((socket) => {
    if (failure) return void socket.destroy();
    const close = forwardConnection(socket, url, options, limits, {
      onError: (message) => (lastError = message),
      onBroken: markBroken,
      onClosed: () => connections.delete(close),
    });
    connections.add(close);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const address = listener.address();
  if (!address || typeof address === "string") throw new Error("port-forward listener has no TCP address");
  const watch = watchPod(k8s, config, target.namespace, ready, limits, {
    inUse: () => connections.size > 0,
    onGone: (why) => markBroken(`lost its pod: ${why}`),
  });

  return {
    host: "127.0.0.1",
    port: address.port,
    description: where,
    lastError: () => lastError,
    failure: () => failure,
    broken,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(watch);
        for (const close of connections) close();
        listener.close(() => resolve());
      }),
  };
}

/**
 * While the tunnel is in use, reads the pod every `limits.heartbeatMs` (each read bounded by `limits.requestMs`,
 * never two at once) and calls `onGone` with why, once it no longer exists or a new pod has its name. A pod that is
 * only being deleted still counts: a graceful shutdown may let a running load finish. A failed read says nothing
 * either way.
 */
function watchPod(
  k8s: K8s,
  config: InstanceType<K8s["KubeConfig"]>,
  namespace: string,
  ready: ReadyPod,
  limits: TunnelLimits,
  { inUse, onGone }: { inUse: () => boolean; onGone: (why: string) => void },
): NodeJS.Timeout {
  const api = config.makeApiClient(k8s.CoreV1Api);
  let reading = false;
  const timer = setInterval(() => {
    if (reading || !inUse()) return;
    reading = true;
    api
      .readNamespacedPod({ name: ready.name, namespace }, requestTimeout(k8s, limits.requestMs))
      .then(
        (pod) => {
          if (ready.uid !== undefined && pod.metadata?.uid !== ready.uid)
            onGone(`${ready.name} was replaced by a new pod of that name`);
        },
        (error: unknown) => {
          if (isNotFound(error)) onGone(`${ready.name} no longer exists`);
        },
      )
      .finally(() => (reading = false));
  }, limits.heartbeatMs);
  timer.unref();
  return timer;
}
