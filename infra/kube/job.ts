// Runs a one-off Job from a CronJob's template (what `kubectl create job --from=cronjob/…` does), with another
// command, and waits for it within a bound: the way provider code runs a task inside the cluster.
import { SalesDbError } from "../../loader/errors";
import { httpStatus, kubeApiError, kubeSession } from "./api";
import type { K8s } from "./client";
import { failureLine, hopelessReason, podLog, type TaskLimits } from "./pod-state";

export interface JobFromCronJob {
  readonly namespace: string;
  readonly cronJob: string;
  /** The Job's name: unique in the namespace, at most 63 characters. */
  readonly name: string;
  /** Replaces the command of the template's first container. */
  readonly command: readonly string[];
  /** Added to the environment of the template's first container. */
  readonly env: Readonly<Record<string, string>>;
  /** What the Job does, for messages: `restore of latest`. */
  readonly what: string;
  readonly context?: string;
}

/**
 * Creates the Job and waits until it completes; returns the last lines of its log. A Job that fails, cannot start
 * or outlives `runMs` is deleted (with its pod) and reported in one line, with the log line that says why.
 */
export async function runJobFromCronJob(run: JobFromCronJob, limits: TaskLimits): Promise<string[]> {
  const { k8s, config, options, api } = await kubeSession(run.context, limits);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const where = `${run.namespace}/${run.name}`;

  const cronJob = await batch
    .readNamespacedCronJob({ name: run.cronJob, namespace: run.namespace }, options())
    .catch((error: unknown) =>
      Promise.reject(
        httpStatus(error) === 404
          ? new SalesDbError(
              "kube_api",
              `the CronJob ${run.namespace}/${run.cronJob} that the ${run.what} runs from does not exist: ` +
                "run pulumi up --refresh, which recreates it",
            )
          : kubeApiError(config, error, limits),
      ),
    );
  const template = structuredClone(cronJob.spec?.jobTemplate);
  const container = template?.spec?.template.spec?.containers[0];
  if (!template?.spec || !container) {
    throw new SalesDbError("kube_api", `the CronJob ${run.namespace}/${run.cronJob} has no container`);
  }
  container.command = [...run.command];
  template.spec.ttlSecondsAfterFinished = 86_400; // kept a day for `kubectl logs`, then removed by Kubernetes
  container.env = [
    ...(container.env ?? []),
    ...Object.entries(run.env).map(([name, value]) => ({ name, value })),
  ];
  await api(() =>
    batch.createNamespacedJob(
      {
        namespace: run.namespace,
        body: {
          metadata: {
            name: run.name,
            labels: template.metadata?.labels,
            annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
            // Goes with its CronJob (as kubectl's `--from` Jobs do): a destroy that deletes the release leaves no
            // finished Job or pod of ours behind.
            ownerReferences: cronJob.metadata?.uid
              ? [{ apiVersion: "batch/v1", kind: "CronJob", name: run.cronJob, uid: cronJob.metadata.uid }]
              : undefined,
          },
          spec: template.spec,
        },
      },
      options(),
    ),
  );

  const fail = async (why: string): Promise<never> => {
    const log = await logOf(core, run, options).catch(() => []);
    await batch
      .deleteNamespacedJob(
        { name: run.name, namespace: run.namespace, propagationPolicy: "Background" },
        options(),
      )
      .catch(() => undefined);
    const said = failureLine(log);
    throw new SalesDbError(
      "job_failed",
      `the ${run.what} (Job ${where}) ${why}${said ? `: ${said}` : ""} ` +
        `(kubectl -n ${run.namespace} describe job ${run.name})`,
    );
  };
  const deadline = Date.now() + limits.runMs;
  for (;;) {
    const job = await api(() =>
      batch.readNamespacedJob({ name: run.name, namespace: run.namespace }, options()),
    );
    const ended = (type: string) =>
      job.status?.conditions?.find((condition) => condition.type === type && condition.status === "True");
    if (ended("Complete")) return logOf(core, run, options);
    const failed = ended("Failed");
    if (failed) return fail(`failed (${failed.reason ?? "Failed"})`);
    const stuck = (await jobPods(core, run, options).catch(() => [])).map(hopelessReason).find(Boolean);
    if (stuck) return fail(`cannot start: ${stuck}`);
    if (Date.now() + limits.pollMs > deadline) {
      return fail(`did not finish within ${Math.round(limits.runMs / 1000)}s and was stopped`);
    }
    await new Promise((resolve) => setTimeout(resolve, limits.pollMs));
  }
}

type CoreApi = InstanceType<K8s["CoreV1Api"]>;

async function jobPods(core: CoreApi, run: JobFromCronJob, options: () => object) {
  const pods = await core.listNamespacedPod(
    { namespace: run.namespace, labelSelector: `job-name=${run.name}` },
    options(),
  );
  return pods.items;
}

/** The last lines of the log of the Job's newest pod; none when it has no pod yet. */
async function logOf(core: CoreApi, run: JobFromCronJob, options: () => object): Promise<string[]> {
  const newest = (await jobPods(core, run, options)).sort((a, b) => created(a) - created(b)).at(-1);
  return newest?.metadata?.name ? podLog(core, run.namespace, newest.metadata.name, options()) : [];
}

function created(object: { metadata?: { creationTimestamp?: Date | string } }): number {
  return new Date(object.metadata?.creationTimestamp ?? 0).getTime();
}
