// Tries the stack's image before the rollout uses it: Helm only notices an image that cannot start at the end of
// its wait, and a StatefulSet does not replace a pod that never became Ready, so a bad image left the database down.
import { runPod } from "../../kube/pod";
import { NO_LOG, type TaskLimits } from "../../kube/pod-state";
import { POD_SECURITY, postgresMajor } from "../chart";

export interface ImageCheck {
  readonly namespace: string;
  readonly releaseName: string;
  /** `repository:tag`. */
  readonly image: string;
  readonly context?: string;
  /** How long the image may take to be pulled and to run (the rollout's own bound, Helm's timeout). */
  readonly timeoutSeconds: number;
}

/**
 * Runs `postgres --version` through the image's own entrypoint (as the official image does, it starts no server
 * for it), in a pod with the chart's security contexts. An image that cannot be pulled, or whose container exits,
 * is known in seconds; and an image whose server is of another major than its tag says is refused too: upgrades
 * are judged by the tag. Returns the server's version line.
 */
export async function checkImageStarts(check: ImageCheck, limits: Partial<TaskLimits> = {}): Promise<string> {
  const log = await runPod(
    {
      namespace: check.namespace,
      name: `${check.releaseName}-image-check-${Date.now().toString(36)}`,
      labels: {
        "app.kubernetes.io/instance": check.releaseName,
        "app.kubernetes.io/component": "image-check",
      },
      what: `check of image ${check.image}`,
      context: check.context,
      spec: {
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: { ...POD_SECURITY.pod, seccompProfile: { ...POD_SECURITY.pod.seccompProfile } },
        containers: [
          {
            name: "postgres",
            image: check.image,
            imagePullPolicy: "IfNotPresent",
            args: ["postgres", "--version"],
            securityContext: {
              ...POD_SECURITY.container,
              capabilities: { drop: [...POD_SECURITY.container.capabilities.drop] },
            },
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
          },
        ],
      },
    },
    { runMs: check.timeoutSeconds * 1000, requestMs: 10_000, pollMs: 500, ...limits },
  );
  const version = log.find((line) => /\(PostgreSQL\) \d+/.test(line));
  // The container ran and exited 0, but its log could not be read: the image starts; its major is not known.
  if (!version && log.length === 1 && log[0]?.startsWith(NO_LOG)) return "an unknown version (no log)";
  const major = /\(PostgreSQL\) (\d+)/.exec(version ?? "")?.[1];
  const tag = check.image.slice(check.image.lastIndexOf(":") + 1);
  if (!version || major !== postgresMajor(tag)) {
    throw new Error(
      `image ${check.image} ${version ? `runs ${version.trim()}` : `printed no PostgreSQL version (${log.at(-1) ?? "nothing"})`}, ` +
        `but its tag says PostgreSQL ${postgresMajor(tag)}`,
    );
  }
  return version.trim();
}
