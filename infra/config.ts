import * as pulumi from "@pulumi/pulumi";
import type { ContainerResources } from "./postgres/chart";

/** The typed, checked configuration of one stack. */
export interface StackConfig {
  readonly namespace: string;
  readonly createNamespace: boolean;
  readonly releaseName: string;
  /** 1: the project's chart (one pod); 2 or more: a CloudNativePG Cluster of that many instances. */
  readonly instances: number;
  readonly storageSize: string;
  /** Empty: the cluster's default StorageClass. */
  readonly storageClass: string;
  readonly pvcRetention: "Delete" | "Retain";
  /** Protect the release and its Secret against `pulumi destroy`. */
  readonly protect: boolean;
  readonly dbName: string;
  readonly dbUser: string;
  /** Unset: the program generates one (see password.ts). */
  readonly dbPassword?: pulumi.Output<string>;
  /** Raised, a new password is generated (when dbPassword is unset) and `up` rotates the role's to it. */
  readonly dbPasswordGeneration: number;
  readonly image: { readonly repository: string; readonly tag: string };
  readonly resources: ContainerResources;
  readonly helmTimeoutSeconds: number;
  readonly backup: BackupConfig;
  readonly seed: SeedConfig;
  /** `kubernetes:context`, so that the seeder's port-forward reaches the cluster the stack deploys to. */
  readonly kubeContext?: string;
}

export interface BackupConfig {
  /** Cron schedule of the backups; empty: no backups (and no backup volume). */
  readonly schedule: string;
  /** How many backups the volume keeps. */
  readonly keep: number;
  /** A backup to restore (a file name, or `latest`); empty: none. Restored when it changes. */
  readonly restore: string;
}

export interface SeedConfig {
  readonly csv: string;
  readonly rules: string;
  readonly table: string;
  /** Fail `up` when more than this share (0..1) of the rows is rejected. */
  readonly maxRejectedShare?: number;
  readonly connection: SeedConnection;
  readonly waitTimeoutSeconds: number;
  /** Two or more instances: the Secret (key `ca.crt`) the server's certificate is verified against; default the
   * Cluster's own CA, `<releaseName>-ca`. For a server certificate of the user's own CA. */
  readonly caSecret?: string;
}

/** How the seeder reaches PostgreSQL: a port-forward through the Kubernetes API, or a host it can reach itself. */
export type SeedConnection =
  | { readonly mode: "port-forward" }
  | { readonly mode: "direct"; readonly host: string; readonly port: number };

/** Every key's default; Pulumi.yaml states the same ones (a test keeps the two in step). */
export const DEFAULTS = {
  namespace: "sales-db",
  createNamespace: true,
  releaseName: "postgres",
  instances: 1,
  storageSize: "1Gi",
  storageClass: "",
  pvcRetention: "Delete",
  protect: false,
  dbName: "sales_db",
  dbUser: "sales",
  dbPasswordGeneration: 0,
  image: "postgres:17.6",
  cpuRequest: "100m",
  memoryRequest: "256Mi",
  cpuLimit: "1",
  memoryLimit: "512Mi",
  helmTimeout: 300,
  backupSchedule: "",
  backupKeep: 7,
  restoreBackup: "",
  seedCsv: "data/sales.csv",
  seedRules: "data/config.yaml",
  seedTable: "sales",
  seedConnection: "port-forward",
  seedPort: 5432,
  seedWaitTimeout: 120,
} as const;

/** The subset of pulumi.Config that reading needs; tests pass a real Config under mocks. */
export type ConfigSource = Pick<pulumi.Config, "get" | "getSecret" | "name">;

/** The most instances a stack may ask for: one primary and replicas, one a node with anti-affinity. */
export const MAX_INSTANCES = 9;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti)$/;
const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
// Five cron fields (numbers, names, * / , - ?) or a macro, as a CronJob's schedule takes them.
const CRON = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[\w*/,?-]+( +[\w*/,?-]+){4})$/;
// Empty, latest, or what backup.sh names a backup: <database>-<UTC time stamp>.dump.
const BACKUP_NAME = /^(latest|[A-Za-z_][A-Za-z0-9_]{0,62}-[0-9]{8}T[0-9]{6}Z\.dump)?$/;
// The tag starts with the PostgreSQL major version (17, 17.6, 17.6-bookworm): upgrades are judged by it.
const DNS_SUBDOMAIN = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const IMAGE = /^([a-z0-9./_-]+(?::[0-9]+)?[a-z0-9./_-]*):([0-9][A-Za-z0-9._-]{0,127})$/;

/** Reads and checks the stack's configuration. A bad value throws an error naming the key. */
export function loadConfig(
  config: ConfigSource = new pulumi.Config(),
  kube = new pulumi.Config("kubernetes"),
): StackConfig {
  const key = (name: string) => `${config.name}:${name}`;
  const fail = (name: string, expected: string, value: string): never => {
    // RunError: Pulumi prints the message alone, without a stack trace.
    throw new pulumi.RunError(`config ${key(name)} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  const text = (name: keyof typeof DEFAULTS, pattern: RegExp | null, expected: string): string => {
    const value = config.get(name) ?? String(DEFAULTS[name]);
    return pattern && !pattern.test(value) ? fail(name, expected, value) : value;
  };
  const oneOf = <T extends string>(name: keyof typeof DEFAULTS, allowed: readonly T[]): T => {
    const value = config.get(name) ?? String(DEFAULTS[name]);
    return (allowed as readonly string[]).includes(value)
      ? (value as T)
      : fail(name, `one of ${allowed.join(", ")}`, value);
  };
  const flag = (name: keyof typeof DEFAULTS): boolean => {
    const value = config.get(name) ?? String(DEFAULTS[name]);
    return value === "true" ? true : value === "false" ? false : fail(name, "true or false", value);
  };
  /** A Kubernetes object name, or undefined when unset or empty. */
  const optionalName = (name: string): string | undefined => {
    const value = config.get(name);
    if (!value) return undefined;
    return DNS_SUBDOMAIN.test(value) ? value : fail(name, "a Kubernetes object name or empty", value);
  };
  const number = (
    name: string,
    fallback: number | undefined,
    min: number,
    max: number,
    integer: boolean,
  ): number | undefined => {
    const raw = config.get(name);
    if (raw === undefined || raw === "") return fallback; // Pulumi.yaml states "" for "no value"
    const value = Number(raw);
    if (
      raw.trim() === "" ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      fail(name, `${integer ? "an integer" : "a number"} from ${min} to ${max}`, raw);
    }
    return value;
  };

  const imageText = config.get("image") ?? DEFAULTS.image;
  if (imageText.endsWith(":latest")) fail("image", "pinned to a version, not latest", imageText);
  const image = IMAGE.exec(
    text(
      "image",
      IMAGE,
      "an image whose pinned tag starts with the PostgreSQL major version, like postgres:17.6",
    ),
  );
  const mode = oneOf("seedConnection", ["port-forward", "direct"] as const);
  const instances = number("instances", DEFAULTS.instances, 1, MAX_INSTANCES, true) as number;
  const caSecret = optionalName("seedServerCa");
  const backupSchedule = text("backupSchedule", null, "");
  if (backupSchedule && !CRON.test(backupSchedule)) {
    fail("backupSchedule", 'a cron schedule like "0 3 * * *" (or empty for no backups)', backupSchedule);
  }
  const restore = text(
    "restoreBackup",
    BACKUP_NAME,
    "latest or a backup's name like sales_db-20261204T030000Z.dump",
  );
  if (restore && !backupSchedule) {
    fail(
      "restoreBackup",
      "empty while backupSchedule is (the backup volume exists only with backups)",
      restore,
    );
  }

  return {
    namespace: text("namespace", DNS_LABEL, "a DNS label (lower-case letters, digits and -)"),
    createNamespace: flag("createNamespace"),
    releaseName: text(
      "releaseName",
      /^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$/,
      "a DNS label of at most 30 characters",
    ),
    instances,
    storageSize: text("storageSize", QUANTITY, "a storage quantity like 1Gi"),
    storageClass: text("storageClass", /^([a-z0-9]([-.a-z0-9]*[a-z0-9])?)?$/, "a StorageClass name or empty"),
    pvcRetention: oneOf("pvcRetention", ["Delete", "Retain"] as const),
    protect: flag("protect"),
    dbName: text("dbName", IDENTIFIER, "a PostgreSQL identifier"),
    dbUser: text("dbUser", IDENTIFIER, "a PostgreSQL identifier"),
    // Pulumi.yaml defaults it to "" (a key without a default would be required): empty means generate one.
    dbPassword: config.get("dbPassword") ? config.getSecret("dbPassword") : undefined,
    dbPasswordGeneration: number(
      "dbPasswordGeneration",
      DEFAULTS.dbPasswordGeneration,
      0,
      1_000_000,
      true,
    ) as number,
    image: { repository: image?.[1] ?? "", tag: image?.[2] ?? "" },
    resources: {
      cpuRequest: text("cpuRequest", CPU, "a CPU quantity like 100m"),
      memoryRequest: text("memoryRequest", QUANTITY, "a memory quantity like 256Mi"),
      cpuLimit: text("cpuLimit", CPU, "a CPU quantity like 1"),
      memoryLimit: text("memoryLimit", QUANTITY, "a memory quantity like 512Mi"),
    },
    helmTimeoutSeconds: number("helmTimeout", DEFAULTS.helmTimeout, 30, 3600, true) as number,
    backup: {
      schedule: backupSchedule,
      keep: number("backupKeep", DEFAULTS.backupKeep, 1, 1000, true) as number,
      restore,
    },
    seed: {
      csv: text("seedCsv", /\S/, "a path to a CSV file"),
      rules: text("seedRules", /\S/, "a path to a rules file"),
      table: text(
        "seedTable",
        /^([A-Za-z_][A-Za-z0-9_]{0,50}\.)?[A-Za-z_][A-Za-z0-9_]{0,50}$/,
        "a table name, optionally schema.table",
      ),
      maxRejectedShare: number("seedMaxRejectedShare", undefined, 0, 1, false),
      connection:
        mode === "direct"
          ? {
              mode,
              // Two or more instances: the primary's Service, unless another host is set.
              host:
                config.get("seedHost") ||
                (instances > 1
                  ? `${config.get("releaseName") || DEFAULTS.releaseName}-rw.${config.get("namespace") || DEFAULTS.namespace}.svc`
                  : fail("seedHost", "set when seedConnection is direct", "")),
              port: number("seedPort", DEFAULTS.seedPort, 1, 65535, true) as number,
            }
          : { mode },
      waitTimeoutSeconds: number("seedWaitTimeout", DEFAULTS.seedWaitTimeout, 1, 3600, true) as number,
      ...(caSecret ? { caSecret } : {}),
    },
    kubeContext: kube.get("context"),
  };
}
