import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
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

/** The PVC label that records the PostgreSQL major its data directory was initialised with (the template sets it). */
export const MAJOR_LABEL = "sales-db.io/postgres-major";

/**
 * The security contexts of the chart's pod and container (the restricted Pod Security Standard): the preflight's
 * dry run asks the namespace about them, and a rendered-chart test keeps the templates in step.
 */
export const POD_SECURITY = {
  pod: {
    runAsNonRoot: true,
    runAsUser: 999,
    runAsGroup: 999,
    fsGroup: 999,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  },
  container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
} as const;

/** The PostgreSQL major of an image tag (`17.6-bookworm` → `17`), which config requires the tag to start with. */
export function postgresMajor(tag: string): string | undefined {
  return /^(\d+)/.exec(tag)?.[1];
}

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
  /** Scheduled backups: an empty schedule makes none. */
  readonly backup: { readonly schedule: string; readonly keep: number };
  readonly chartHash: string;
  /** The Secret's key that holds the password. Default PASSWORD_KEY, the chart's own Secret's. */
  readonly secretKey?: string;
  /**
   * Backups only, of a server the chart does not run (a CloudNativePG Cluster): the Service to dump from (its name
   * in the server's certificate) and the Secret whose `ca.crt` verifies it. Default: the chart runs the server.
   */
  readonly server?: { readonly service: string; readonly caSecret: string };
}

/** The longest a backup or restore Job may run (its activeDeadlineSeconds). */
export const BACKUP_TIMEOUT_SECONDS = 3600;

/** Helm values for the chart. They name the Secret and never hold the password. */
export function chartValues(inputs: ChartInputs) {
  return {
    // Unset for the chart's own server: the values of its stacks stay as they were.
    ...(inputs.server ? { server: { enabled: false, ...inputs.server } } : {}),
    image: { repository: inputs.image.repository, tag: inputs.image.tag, pullPolicy: "IfNotPresent" },
    auth: {
      database: inputs.dbName,
      username: inputs.dbUser,
      existingSecret: inputs.secretName,
      secretKey: inputs.secretKey ?? PASSWORD_KEY,
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
    backup: {
      schedule: inputs.backup.schedule,
      keep: inputs.backup.keep,
      timeoutSeconds: BACKUP_TIMEOUT_SECONDS,
    },
    chartHash: inputs.chartHash,
  };
}

/** The settings of a stack that go into the chart's values. */
export type StackChartSettings = Pick<
  ChartInputs,
  "image" | "dbName" | "dbUser" | "storageSize" | "storageClass" | "pvcRetention" | "resources" | "backup"
>;

/**
 * The values of a release of the chart in CHART_DIR, for a stack's settings and where its password is. The
 * settings are named one by one: the args they come from hold the password, which must never reach the values.
 */
export function releaseValues(
  settings: StackChartSettings,
  auth: Pick<ChartInputs, "secretName" | "secretKey" | "server">,
) {
  return chartValues({
    image: settings.image,
    dbName: settings.dbName,
    dbUser: settings.dbUser,
    storageSize: settings.storageSize,
    storageClass: settings.storageClass,
    pvcRetention: settings.pvcRetention,
    resources: settings.resources,
    backup: settings.backup,
    ...auth,
    chartHash: hashFolder(CHART_DIR),
  });
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

/** The oldest Kubernetes the chart supports: its `kubeVersion` (`>=1.27.0-0`) as a version (`1.27.0`). */
export function minKubernetes(dir = CHART_DIR): string {
  const chart = parse(readFileSync(join(dir, "Chart.yaml"), "utf8")) as { kubeVersion?: unknown };
  const match = /^>=\s*v?(\d+\.\d+(?:\.\d+)?)/.exec(String(chart.kubeVersion ?? ""));
  if (!match?.[1])
    throw new Error(`${dir}/Chart.yaml: kubeVersion must read >=X.Y.Z, got ${String(chart.kubeVersion)}`);
  return match[1];
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
    backupVolume: `${release}-backups`,
    backupCronJob: `${release}-backup`,
  };
}
