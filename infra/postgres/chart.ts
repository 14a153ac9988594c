import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { projectRoot } from "../../loader/project";

/** The project's own PostgreSQL chart (found from the project root: the program runs from dist/). */
export const CHART_DIR = join(projectRoot(), "infra", "charts", "postgres");
/** The Secret key the chart reads the password from. */
export const PASSWORD_KEY = "postgres-password";
/**
 * The port PostgreSQL listens on in the pod, which both Services expose too. The templates state the same number
 * (the official image's port); a rendered-chart test keeps the two in step.
 */
export const POSTGRES_PORT = 5432;

/** CPU and memory requests and limits of the PostgreSQL container, as Kubernetes quantities. */
export interface ContainerResources {
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
}

export interface ChartInputs {
  readonly image: { readonly repository: string; readonly tag: string };
  readonly dbName: string;
  readonly dbUser: string;
  readonly secretName: string;
  readonly storageSize: string;
  readonly storageClass: string;
  readonly pvcRetention: "Delete" | "Retain";
  readonly resources: ContainerResources;
  readonly chartHash: string;
}

/** Helm values for the chart. They name the Secret and never hold the password. */
export function chartValues(inputs: ChartInputs) {
  return {
    image: { repository: inputs.image.repository, tag: inputs.image.tag, pullPolicy: "IfNotPresent" },
    auth: {
      database: inputs.dbName,
      username: inputs.dbUser,
      existingSecret: inputs.secretName,
      secretKey: PASSWORD_KEY,
    },
    persistence: {
      size: inputs.storageSize,
      storageClass: inputs.storageClass,
      retentionPolicy: inputs.pvcRetention,
    },
    resources: {
      requests: { cpu: inputs.resources.cpuRequest, memory: inputs.resources.memoryRequest },
      limits: { cpu: inputs.resources.cpuLimit, memory: inputs.resources.memoryLimit },
    },
    chartHash: inputs.chartHash,
  };
}

/**
 * sha256 over every file of a folder (names and contents, in sorted order). Fed into the release so that an
 * edited template changes its inputs: Helm itself only notices a local chart when its version changes.
 */
export function hashFolder(dir: string): string {
  const hash = createHash("sha256");
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((entry) =>
        entry.isDirectory() ? walk(join(folder, entry.name)) : [join(folder, entry.name)],
      );
  for (const file of walk(dir)) {
    hash.update(relative(dir, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/** The names Kubernetes gives the chart's objects, derived the way the templates derive them. */
export function chartNames(release: string, namespace: string) {
  const service = release;
  const headlessService = `${release}-headless`;
  return {
    statefulSet: release,
    pod: `${release}-0`,
    pvc: `postgres-data-${release}-0`,
    service,
    headlessService,
    serviceHost: `${service}.${namespace}.svc.cluster.local`,
    headlessServiceHost: `${headlessService}.${namespace}.svc.cluster.local`,
  };
}
