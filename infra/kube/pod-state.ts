// What a pod that runs a task says about how it is going: a reason to stop waiting for it, and its log's last lines.
import { describeKubeError } from "./api";
import type { K8s } from "./client";

type CoreApi = InstanceType<K8s["CoreV1Api"]>;
type Pod = Awaited<ReturnType<CoreApi["readNamespacedPod"]>>;

/** The bounds of a task run in the cluster (a Job or a pod). */
export interface TaskLimits {
  /** How long the task may take from its creation to its end (pulling its image included). */
  readonly runMs: number;
  /** One request to the Kubernetes API. */
  readonly requestMs: number;
  /** Between two looks at the task. */
  readonly pollMs: number;
}

/** Waiting reasons of a container that waiting longer does not cure: a task that shows one fails at once. */
const HOPELESS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "CrashLoopBackOff",
]);

/** Lines of a task's log kept for its result and its failure message. */
const LOG_LINES = 200;
const LOG_ATTEMPTS = 5;
/** How the one line of a log that could not be read starts. */
export const NO_LOG = "(no log:";
const LOG_RETRY_MS = 500;

/** `container restore: ErrImagePull (…)` when a container of the pod waits for a reason waiting does not cure. */
export function hopelessReason(pod: Pod): string | undefined {
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && HOPELESS.has(waiting.reason)) {
      return `container ${status.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`;
    }
  }
  return undefined;
}

/** The last lines of a pod's log; a line saying why there is none when it cannot be read. */
export async function podLog(
  core: CoreApi,
  namespace: string,
  name: string,
  options: object,
): Promise<string[]> {
  // The log of a container that just ended was once answered 404 by the real node: asked for again, briefly.
  for (let attempt = 1; ; attempt++) {
    try {
      const text = await core.readNamespacedPodLog({ name, namespace, tailLines: LOG_LINES }, options);
      return String(text).split("\n").filter(Boolean);
    } catch (error) {
      if (attempt >= LOG_ATTEMPTS) return [`${NO_LOG} ${describeKubeError(error)})`];
      await new Promise((resolve) => setTimeout(resolve, LOG_RETRY_MS));
    }
  }
}

/** The log line that says why a task failed: its last error, else its last line; none from a log not read. */
export function failureLine(log: readonly string[]): string | undefined {
  if (log.length === 1 && log[0]?.startsWith(NO_LOG)) return undefined;
  return [...log].reverse().find((line) => /error|fatal/i.test(line)) ?? log.at(-1);
}
