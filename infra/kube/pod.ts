// Runs a one-off pod to its end and reports within a bound: the way provider code tries something in the cluster
// (an image, before a rollout uses it). The pod is deleted however it ends.
import { SalesDbError } from "../../loader/errors";
import { kubeSession } from "./api";
import type { K8s } from "./client";
import { failureLine, hopelessReason, podLog, type TaskLimits } from "./pod-state";

type PodSpec = NonNullable<
  Parameters<InstanceType<K8s["CoreV1Api"]>["createNamespacedPod"]>[0]["body"]["spec"]
>;

export interface PodRun {
  readonly namespace: string;
  /** Unique in the namespace. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's spec; it runs once (restartPolicy Never). */
  readonly spec: PodSpec;
  /** What the pod does, for messages: `check of image postgres:17.6`. */
  readonly what: string;
  readonly context?: string;
}

/**
 * Creates the pod and waits until it ends; returns the last lines of its log when it succeeded. A pod that fails,
 * cannot start or outlives `runMs` is reported in one line, with the log line that says why.
 */
export async function runPod(run: PodRun, limits: TaskLimits): Promise<string[]> {
  const { k8s, config, options, api } = await kubeSession(run.context, limits);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const where = `${run.namespace}/${run.name}`;

  await api(() =>
    core.createNamespacedPod(
      {
        namespace: run.namespace,
        body: {
          metadata: { name: run.name, labels: { ...run.labels } },
          spec: {
            ...run.spec,
            restartPolicy: "Never",
            activeDeadlineSeconds: Math.ceil(limits.runMs / 1000),
          },
        },
      },
      options(),
    ),
  );
  try {
    // A container that never started has no log to ask for.
    const failure = async (why: string, started = true) => {
      const said = started ? failureLine(await podLog(core, run.namespace, run.name, options())) : undefined;
      return new SalesDbError(
        "job_failed",
        `the ${run.what} (pod ${where}) ${why}${said ? `: ${said}` : ""}`,
      );
    };
    const deadline = Date.now() + limits.runMs;
    for (;;) {
      const pod = await api(() =>
        core.readNamespacedPod({ name: run.name, namespace: run.namespace }, options()),
      );
      if (pod.status?.phase === "Succeeded") return podLog(core, run.namespace, run.name, options());
      if (pod.status?.phase === "Failed") {
        const ended = pod.status.containerStatuses?.[0]?.state?.terminated;
        throw await failure(
          ended
            ? `exited with status ${ended.exitCode}${ended.reason ? ` (${ended.reason})` : ""}`
            : "failed",
        );
      }
      const stuck = hopelessReason(pod);
      if (stuck)
        throw await failure(`cannot start: ${stuck}`, !/ErrImage|ImagePull|InvalidImage/.test(stuck));
      if (Date.now() + limits.pollMs > deadline) {
        throw await failure(
          `did not end within ${Math.round(limits.runMs / 1000)}s (${pod.status?.phase ?? "no status"})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, limits.pollMs));
    }
  } finally {
    await core
      .deleteNamespacedPod({ name: run.name, namespace: run.namespace, gracePeriodSeconds: 0 }, options())
      .catch(() => undefined); // a pod left behind ends at its activeDeadlineSeconds
  }
}
