import { createServer, type Server, type Socket } from "node:net";
import WebSocket from "ws";
import { SalesDbError } from "../loader/errors";

type K8s = typeof import("@kubernetes/client-node", { with: { "resolution-mode": "import" } });
type KubeConfig = InstanceType<K8s["KubeConfig"]>;

/** Which pod and port to forward, on which cluster (the kubeconfig's current context unless `context` is set). */
export interface PodTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
  readonly context?: string;
}

/** The bounds of every phase of a tunnel; the README's "Known limitations" quotes the defaults. */
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

// Bytes the API has not yet taken from one connection before we stop reading from the local side.
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;
// The port-forward subprotocol of the kubelet's streaming server (channel byte, then data; each channel's first
// frame starts with the port number).
const PROTOCOL = "v4.channel.k8s.io";

async function kubeConfig(context: string | undefined): Promise<{ k8s: K8s; config: KubeConfig }> {
  const k8s = await import("@kubernetes/client-node");
  const config = new k8s.KubeConfig();
  config.loadFromDefault();
  if (context) config.setCurrentContext(context);
  return { k8s, config };
}

function apiServer(config: KubeConfig): string {
  const server = config.getCurrentCluster()?.server;
  if (!server) {
    throw new SalesDbError(
      "kube_api",
      `the kubeconfig's context ${config.getCurrentContext() || "(none)"} names no cluster: ` +
        "point KUBECONFIG or kubernetes:context at your cluster",
    );
  }
  return server;
}

/**
 * Waits for the pod to be Ready, then listens on 127.0.0.1 (a free port) and forwards each connection to the
 * pod's port through the API server's `pods/portforward` subresource. No kubectl subprocess.
 *
 * A refused, unauthorized or unreachable API fails at once, quoting the API; only a missing or unready pod is
 * waited for. Each forwarded connection closes both of its sides when either side closes or fails, and is
 * declared dead when the API stops answering pings and taking bytes (`limits.silenceMs`).
 */
export async function openPortForward(
  target: PodTarget,
  limits: TunnelLimits = TUNNEL_LIMITS,
): Promise<Tunnel> {
  const { k8s, config } = await kubeConfig(target.context);
  const server = apiServer(config);
  const where = `pod ${target.namespace}/${target.pod} through the Kubernetes API at ${server}`;
  await waitForReadyPod(k8s, config, target, limits);

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
    `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}` +
    `/portforward?ports=${target.port}`;
  const options: WebSocket.ClientOptions = { handshakeTimeout: limits.requestMs };
  await config.applyToHTTPSOptions(options);

  const listener: Server = createServer((socket) => {
    if (failure) return void socket.destroy();
    const close = forward(socket, new WebSocket(url, [PROTOCOL], options), limits, {
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

  return {
    host: "127.0.0.1",
    port: address.port,
    description: where,
    lastError: () => lastError,
    failure: () => failure,
    broken,
    close: () =>
      new Promise<void>((resolve) => {
        for (const close of connections) close();
        listener.close(() => resolve());
      }),
  };
}

interface ForwardEvents {
  /** The API or the pod reported an error on this connection (the next attempt may fare better). */
  onError(message: string): void;
  /** The path through the API is dead or refused: no attempt can succeed. */
  onBroken(message: string): void;
  onClosed(): void;
}

/**
 * Joins one local socket to one port-forward websocket, with backpressure both ways. Returns a function that
 * closes both. Whichever side closes or fails first, the other is closed too: nothing waits on a dead stream.
 */
function forward(socket: Socket, ws: WebSocket, limits: TunnelLimits, events: ForwardEvents): () => void {
  let closed = false;
  let abandoned = false; // we terminated the websocket ourselves: what it reports next is not news
  let opened = false;
  let pending = 0; // bytes handed to the websocket, not yet written to its TCP connection
  let lastSign = Date.now(); // the last time the API answered a ping, sent bytes or took ours
  // Silence proves a dead path only when something was owed: bytes of ours the API has not taken, or a pong from
  // an API that answered pings before (not every API server's port-forward does).
  let answersPings = false;
  const portHeader = [true, true]; // the first frame of each channel starts with the 2-byte port number

  const close = (graceful: boolean) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    if (graceful) socket.end();
    else socket.destroy();
    if (ws.readyState === WebSocket.OPEN) ws.close();
    else if (ws.readyState === WebSocket.CONNECTING) {
      // Let the handshake finish or time out: its outcome says whether the API is there at all.
      ws.once("open", () => ws.close());
    }
    events.onClosed();
  };
  const abandon = () => {
    abandoned = true;
    ws.terminate();
    close(false);
  };

  const heartbeat = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN || ws.isPaused) return;
    const silent = Date.now() - lastSign;
    if ((pending > 0 || answersPings) && silent > limits.silenceMs) {
      events.onBroken(
        `stopped answering: no reply to pings and no bytes moved for ${Math.round(silent / 1000)}s ` +
          "(is the API server or the node down?)",
      );
      abandon();
      return;
    }
    ws.ping();
  }, limits.heartbeatMs);
  heartbeat.unref();

  socket.on("error", () => close(false));
  socket.on("end", () => close(true));
  socket.on("close", () => close(false));

  ws.on("unexpected-response", (_request, response) => {
    const status = response.statusCode ?? 0;
    let body = "";
    response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    response.on("end", () => {
      const message = `HTTP ${status}: ${statusMessage(body) ?? response.statusMessage ?? "no reason given"}`;
      // A missing pod may come back (a restart); a refusal or an unknown path will not.
      if (status === 404 || status >= 500) events.onError(message);
      else {
        events.onBroken(
          `was refused (${message}): check the kubeconfig's credentials and RBAC (create pods/portforward)`,
        );
      }
      abandon();
    });
  });
  ws.on("error", (error) => {
    if (abandoned) return;
    // Before the handshake completed, the API is unreachable or stalled (a handshake timeout): fail now.
    if (opened) events.onError(describeKubeError(error));
    else events.onBroken(`could not be opened: ${describeKubeError(error)}`);
    close(false);
  });
  ws.on("open", () => {
    opened = true;
    lastSign = Date.now();
    socket.on("data", (chunk: Buffer) => {
      if (pending === 0) lastSign = Date.now(); // an idle connection owed nothing: the wait starts now
      const frame = Buffer.allocUnsafe(chunk.length + 1);
      frame[0] = 0;
      chunk.copy(frame, 1);
      pending += frame.length;
      if (pending > HIGH_WATER) socket.pause();
      ws.send(frame, (error) => {
        pending -= frame.length;
        if (error) return;
        lastSign = Date.now();
        if (pending < LOW_WATER && socket.isPaused() && !closed) socket.resume();
      });
    });
  });
  ws.on("pong", () => {
    answersPings = true;
    lastSign = Date.now();
  });
  ws.on("message", (data: Buffer, isBinary) => {
    lastSign = Date.now();
    if (!isBinary || data.length < 1) return;
    const channel = data[0] as number;
    let payload = data.subarray(1);
    if (portHeader[channel]) {
      portHeader[channel] = false;
      payload = payload.subarray(2);
    }
    if (payload.length === 0) return;
    if (channel === 0) {
      if (!socket.write(payload)) {
        ws.pause();
        socket.once("drain", () => {
          lastSign = Date.now(); // the wait was ours, not the API's
          ws.resume();
        });
      }
    } else if (channel === 1) {
      events.onError(payload.toString("utf8").trim());
    }
  });
  ws.on("close", (code) => {
    if (code === 1006 && !closed && !abandoned)
      events.onError("the connection to the Kubernetes API dropped");
    close(true);
  });
  return abandon;
}

/** Waits until the pod exists and is Ready. Only that is retried: the API itself must answer at once. */
async function waitForReadyPod(k8s: K8s, config: KubeConfig, target: PodTarget, limits: TunnelLimits) {
  const api = config.makeApiClient(k8s.CoreV1Api);
  const server = apiServer(config);
  const deadline = Date.now() + limits.podReadyMs;
  const name = `${target.namespace}/${target.pod}`;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
    let why: string;
    try {
      const pod = await api.readNamespacedPod(
        { name: target.pod, namespace: target.namespace },
        requestTimeout(k8s, limits.requestMs),
      );
      const state = podState(pod);
      if (state === "Ready") return;
      why = state;
    } catch (error) {
      const status = httpStatus(error);
      if (status !== 404 && !(status !== undefined && status >= 500)) {
        throw new SalesDbError("kube_api", apiFailure(server, config, error, limits), { cause: error });
      }
      why = status === 404 ? "the pod does not exist" : describeKubeError(error);
    }
    if (Date.now() + delay > deadline) {
      throw new SalesDbError(
        "db_unreachable",
        `pod ${name} is not Ready after ${Math.round(limits.podReadyMs / 1000)}s (${why}): ` +
          `see kubectl -n ${target.namespace} describe pod ${target.pod}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** `Ready`, or why not: `phase Pending, container postgres: CrashLoopBackOff`. */
export function podState(pod: {
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; state?: { waiting?: { reason?: string } } }[];
  };
}): string {
  const status = pod.status;
  if (status?.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True")) {
    return "Ready";
  }
  const waiting = (status?.containerStatuses ?? [])
    .filter((container) => container.state?.waiting?.reason)
    .map((container) => `container ${container.name}: ${container.state?.waiting?.reason}`);
  return [`phase ${status?.phase ?? "unknown"}`, ...waiting].join(", ");
}

/** One line naming the API, what it said (or that it said nothing) and what to check. */
function apiFailure(server: string, config: KubeConfig, error: unknown, limits: TunnelLimits): string {
  const context = config.getCurrentContext() || "(none)";
  if (isAbort(error)) {
    return (
      `the Kubernetes API at ${server} did not answer within ${limits.requestMs / 1000}s ` +
      `(kubeconfig context ${context}): check that the cluster is running`
    );
  }
  const status = httpStatus(error);
  const hint =
    status === 401 || status === 403
      ? `check the credentials of kubeconfig context ${context} and its RBAC (get pods, create pods/portforward)`
      : `check that the cluster of kubeconfig context ${context} is running and reachable`;
  return `the Kubernetes API at ${server} refused or failed the request: ${describeKubeError(error)}; ${hint}`;
}

/** Per-request options that abort a Kubernetes API request after `ms` (the client sets no timeout of its own). */
function requestTimeout(k8s: K8s, ms: number) {
  return {
    middleware: [
      {
        pre: (context: InstanceType<K8s["RequestContext"]>) => {
          context.setSignal(AbortSignal.timeout(ms));
          return new k8s.Observable(Promise.resolve(context));
        },
        post: (response: InstanceType<K8s["ResponseContext"]>) =>
          new k8s.Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: "append" as const,
  };
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === "AbortError" || name === "TimeoutError";
}

function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The `message` of a Kubernetes `Status` body, if the body is one. */
function statusMessage(body: unknown): string | undefined {
  try {
    const parsed: unknown = typeof body === "string" ? JSON.parse(body) : body;
    const message = (parsed as { message?: unknown } | null)?.message;
    return typeof message === "string" && message ? message : undefined;
  } catch {
    return typeof body === "string" && body.trim() ? body.trim().split("\n", 1)[0] : undefined;
  }
}

/**
 * One line saying what the Kubernetes API (or the way to it) said: an HTTP status with the Status message, a
 * network error's message (`connect ECONNREFUSED 127.0.0.1:6443`), never `[object Object]`.
 */
export function describeKubeError(error: unknown): string {
  const status = httpStatus(error);
  if (status !== undefined) {
    const body = (error as { body?: unknown }).body;
    // The client drops the body of some statuses (401); its own message still carries the reason phrase.
    const phrase = error instanceof Error ? /^Message: (.+)$/m.exec(error.message)?.[1] : undefined;
    return `HTTP ${status}: ${statusMessage(body) ?? phrase ?? "no reason given"}`;
  }
  if (error instanceof Error) {
    const message = error.message || error.name;
    return message.split("\n", 1)[0] ?? message;
  }
  // A websocket ErrorEvent, or anything else that is not an Error.
  const inner = (error as { error?: unknown; message?: unknown } | null | undefined) ?? {};
  if (inner.error instanceof Error) return describeKubeError(inner.error);
  if (typeof inner.message === "string" && inner.message) return inner.message;
  if (typeof error === "object" && error !== null) return JSON.stringify(error);
  return String(error);
}

/** Reads one key of a Secret, for the provider methods that get no secret inputs (read and delete). */
export async function readSecretKey(target: {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  readonly context?: string;
}): Promise<string> {
  const { k8s, config } = await kubeConfig(target.context);
  const api = config.makeApiClient(k8s.CoreV1Api);
  let secret;
  try {
    secret = await api.readNamespacedSecret(
      { name: target.name, namespace: target.namespace },
      requestTimeout(k8s, TUNNEL_LIMITS.requestMs),
    );
  } catch (error) {
    if (isNotFound(error)) throw error;
    throw new SalesDbError("kube_api", apiFailure(apiServer(config), config, error, TUNNEL_LIMITS), {
      cause: error,
    });
  }
  const encoded = secret.data?.[target.key];
  if (encoded === undefined)
    throw new Error(`secret ${target.namespace}/${target.name} has no key ${target.key}`);
  return Buffer.from(encoded, "base64").toString("utf8");
}

/** True when the Kubernetes API answered 404 (the Secret or its namespace is gone); not for DNS or network errors. */
export function isNotFound(error: unknown): boolean {
  return httpStatus(error) === 404;
}
