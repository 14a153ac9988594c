// Requests to the Kubernetes API that the seed makes besides the port-forward itself (the pod's readiness, the
// Secret's password), each bounded, and errors of every shape the API and the client produce, told in one line.
import { SalesDbError } from "../../loader/errors";
import { kubernetesClient, type K8s } from "./client";
import type { PodTarget, TunnelLimits } from "./target";
type KubeConfig = InstanceType<K8s["KubeConfig"]>;

/** The client library (loaded on first use) and the kubeconfig, on `context` if set. */
export async function kubeConfig(context: string | undefined): Promise<{ k8s: K8s; config: KubeConfig }> {
  const k8s = await kubernetesClient();
  const config = new k8s.KubeConfig();
  config.loadFromDefault();
  if (context) config.setCurrentContext(context);
  return { k8s, config };
}

/** The API server of the current context, or an error saying to point the kubeconfig at a cluster. */
export function apiServer(config: KubeConfig): string {
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

/** A pod as it was found Ready: its name, and its UID, which a new pod of the same name does not share. */
export interface ReadyPod {
  readonly name: string;
  readonly uid: string | undefined;
}

/**
 * Waits until the pod exists and is Ready, and returns it. With a selector, the pod is whichever Ready pod it
 * selects now (a CloudNativePG cluster's primary, which a failover moves). Only that is retried: the API itself
 * must answer at once.
 */
export async function waitForReadyPod(
  k8s: K8s,
  config: KubeConfig,
  target: PodTarget,
  limits: TunnelLimits,
): Promise<ReadyPod> {
  const api = config.makeApiClient(k8s.CoreV1Api);
  const server = apiServer(config);
  const deadline = Date.now() + limits.podReadyMs;
  const name = target.selector
    ? `labelled ${target.selector} in namespace ${target.namespace}`
    : `${target.namespace}/${target.pod}`;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
    let why: string;
    try {
      if (target.selector) {
        const pods = await api.listNamespacedPod(
          { namespace: target.namespace, labelSelector: target.selector },
          requestTimeout(k8s, limits.requestMs),
        );
        const ready = pods.items.find((pod) => podState(pod) === "Ready" && !pod.metadata?.deletionTimestamp);
        if (ready?.metadata?.name) return { name: ready.metadata.name, uid: ready.metadata.uid };
        why = pods.items.length
          ? pods.items.map((pod) => `${pod.metadata?.name}: ${podState(pod)}`).join("; ")
          : "no pod has the labels";
      } else {
        const pod = await api.readNamespacedPod(
          { name: target.pod, namespace: target.namespace },
          requestTimeout(k8s, limits.requestMs),
        );
        const state = podState(pod);
        if (state === "Ready") return { name: target.pod, uid: pod.metadata?.uid };
        why = state;
      }
    } catch (error) {
      const status = httpStatus(error);
      if (status !== 404 && !(status !== undefined && status >= 500)) {
        throw new SalesDbError("kube_api", apiFailure(server, config, error, limits), { cause: error });
      }
      if (status === 404 && !target.selector) {
        const never = await neverComing(k8s, config, target, limits);
        if (never) {
          throw new SalesDbError(
            "db_unreachable",
            `pod ${name} does not exist and nothing will create it: ${never} (deleted outside Pulumi?): ` +
              "run pulumi up --refresh, which finds what is gone and recreates it",
          );
        }
      }
      why = status === 404 ? "the pod does not exist" : describeKubeError(error);
    }
    if (Date.now() + delay > deadline) {
      throw new SalesDbError(
        "db_unreachable",
        `pod ${name} is not Ready after ${Math.round(limits.podReadyMs / 1000)}s (${why}): ` +
          `see kubectl -n ${target.namespace} describe pod ${target.selector ? `-l ${target.selector}` : target.pod}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Why a missing pod will never come, when the API can tell: its namespace is gone, or no StatefulSet of the
 * namespace owns a pod of that name (`<name>-<ordinal>`). Undefined while one does, or when we may not look.
 */
async function neverComing(
  k8s: K8s,
  config: KubeConfig,
  target: PodTarget,
  limits: Pick<TunnelLimits, "requestMs">,
): Promise<string | undefined> {
  const options = () => requestTimeout(k8s, limits.requestMs);
  try {
    await config.makeApiClient(k8s.CoreV1Api).readNamespace({ name: target.namespace }, options());
  } catch (error) {
    return httpStatus(error) === 404 ? `its namespace ${target.namespace} does not exist` : undefined;
  }
  let statefulSets;
  try {
    statefulSets = await config
      .makeApiClient(k8s.AppsV1Api)
      .listNamespacedStatefulSet({ namespace: target.namespace }, options());
  } catch {
    return undefined;
  }
  const owned = statefulSets.items.some((sts) => {
    const prefix = `${sts.metadata?.name ?? ""}-`;
    const ordinal = target.pod.startsWith(prefix) ? target.pod.slice(prefix.length) : "";
    return /^\d+$/.test(ordinal) && Number(ordinal) < (sts.spec?.replicas ?? 1);
  });
  return owned ? undefined : `no StatefulSet in namespace ${target.namespace} owns it`;
}

/** `Ready`, or why not: `phase Pending, container postgres: CrashLoopBackOff`. */
function podState(pod: {
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

/**
 * What provider code that calls the API needs: the client and its config for `context`, per-request options that
 * abort after `requestMs`, and `api`, which turns a failed request into the one-line error a user reads.
 */
export async function kubeSession(context: string | undefined, limits: Pick<TunnelLimits, "requestMs">) {
  const { k8s, config } = await kubeConfig(context);
  return {
    k8s,
    config,
    options: () => requestTimeout(k8s, limits.requestMs),
    api: <T>(request: () => Promise<T>): Promise<T> =>
      request().catch((error: unknown) => Promise.reject(kubeApiError(config, error, limits))),
  };
}

/** An API failure that is not an answer about the object asked for, as the one-line error a user reads. */
export function kubeApiError(config: KubeConfig, error: unknown, limits: Pick<TunnelLimits, "requestMs">) {
  return new SalesDbError("kube_api", apiFailure(apiServer(config), config, error, limits), { cause: error });
}

/** One line naming the API, what it said (or that it said nothing) and what to check. */
function apiFailure(
  server: string,
  config: KubeConfig,
  error: unknown,
  limits: Pick<TunnelLimits, "requestMs">,
): string {
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
      ? `check the credentials of kubeconfig context ${context} and its RBAC (get pods; get and create pods/portforward)`
      : `check that the cluster of kubeconfig context ${context} is running and reachable`;
  return `the Kubernetes API at ${server} refused or failed the request: ${describeKubeError(error)}; ${hint}`;
}

/** Per-request options that abort a Kubernetes API request after `ms` (the client sets no timeout of its own). */
export function requestTimeout(k8s: K8s, ms: number) {
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

export function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The `message` of a Kubernetes `Status` body, if the body is one. */
export function statusMessage(body: unknown): string | undefined {
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
export async function readSecretKey(
  target: {
    readonly namespace: string;
    readonly name: string;
    readonly key: string;
    readonly context?: string;
  },
  limits: Pick<TunnelLimits, "requestMs">,
): Promise<string> {
  const { k8s, config } = await kubeConfig(target.context);
  const api = config.makeApiClient(k8s.CoreV1Api);
  let secret;
  try {
    secret = await api.readNamespacedSecret(
      { name: target.name, namespace: target.namespace },
      requestTimeout(k8s, limits.requestMs),
    );
  } catch (error) {
    if (isNotFound(error)) throw error;
    throw new SalesDbError("kube_api", apiFailure(apiServer(config), config, error, limits), {
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
