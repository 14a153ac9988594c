import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { dynamicProviderHost } from "./dynamic-host";
import { GeneratedPassword } from "./postgres/password";
import { PostgresDatabase } from "./postgres/database";
import { BASIC_AUTH_PASSWORD, HaDatabase } from "./cnpg/database";
import { clusterNames } from "./cnpg/names";
import { connectCommand } from "./database/connect-command";
import { BACKUP_TIMEOUT_SECONDS, chartNames, minKubernetes, PASSWORD_KEY } from "./postgres/chart";
import { listBackupsCommand } from "./postgres/backup-commands";
import { BackupRestore } from "./backup/restore-resource";
import { Preflight } from "./postgres/preflight-resource";
import { SalesSeed } from "./seed/resource";
import { validateCommand } from "./seed/errors";
import { RULE_IDS } from "../loader/rules/validate";

// Pulumi's runner maps every stack through source maps (source-map-support), and the SDK takes a full stack for
// each resource and each RPC promise: about 0.1 s of every program run (measured), for positions a CLI run never
// shows. The program runs compiled: its stacks name dist/ positions instead.
Reflect.deleteProperty(Error, "prepareStackTrace");

const config = loadConfig();
// Reads the cluster and refuses, at preview and at up, what cannot work; every other resource waits for it.
const preflight = new Preflight(
  "sales-db-preflight",
  {
    namespace: config.namespace,
    createNamespace: config.createNamespace,
    releaseName: config.releaseName,
    storageSize: config.storageSize,
    storageClass: config.storageClass,
    image: `${config.image.repository}:${config.image.tag}`,
    minKubernetes: minKubernetes(),
    // Unset for one instance: the chart's stacks keep the settings (and the fast no-change preview) they had.
    instances: config.instances > 1 ? config.instances : undefined,
    context: config.kubeContext,
    imageCheckTimeoutSeconds: config.helmTimeoutSeconds,
  },
  { provider: dynamicProviderHost },
);
preflight.volumePlan.apply((plan) => {
  if (plan) pulumi.log.info(`This up ${plan}.`, preflight);
});
// A password the user set wins; otherwise one is generated once and kept, secret, in the state.
const password =
  config.dbPassword ??
  new GeneratedPassword(
    "sales-db-password",
    { generation: config.dbPasswordGeneration },
    { provider: dynamicProviderHost, dependsOn: [preflight] },
  ).result;

const ha = config.instances > 1;
const databaseArgs = {
  namespace: config.namespace,
  createNamespace: config.createNamespace,
  dbName: config.dbName,
  dbUser: config.dbUser,
  password,
  storageSize: config.storageSize,
  storageClass: config.storageClass,
  pvcRetention: config.pvcRetention,
  resources: config.resources,
  protect: config.protect,
  directHost: config.seed.connection.mode === "direct" ? config.seed.connection : undefined,
  kubeContext: config.kubeContext,
  waitTimeoutSeconds: config.seed.waitTimeoutSeconds,
  dynamicProvider: dynamicProviderHost,
  after: [preflight],
};
// One instance: the chart, as ever. Two or more: a CloudNativePG Cluster (README, High availability).
const cluster = ha
  ? new HaDatabase("sales-db-ha", {
      ...databaseArgs,
      clusterName: config.releaseName,
      instances: config.instances,
      image: config.image,
      backup: config.backup,
      readyTimeoutSeconds: config.helmTimeoutSeconds,
      caSecret: config.seed.caSecret,
    })
  : undefined;
const chart = ha
  ? undefined
  : new PostgresDatabase("sales-db", {
      ...databaseArgs,
      releaseName: config.releaseName,
      image: config.image,
      helmTimeoutSeconds: config.helmTimeoutSeconds,
      backup: config.backup,
    });
const db = (cluster ?? chart) as HaDatabase | PostgresDatabase;
/** What the seed waits for on up, and goes before on destroy. */
const deployed = cluster ? cluster.cluster : (chart as PostgresDatabase).release;

db.rolePassword.rotates.apply((rotates) => {
  if (rotates) {
    pulumi.log.info(
      `The password of role ${config.dbUser} rotates in this up: ALTER ROLE in the running database, then the ` +
        "Secret; nothing restarts.",
      db.rolePassword,
    );
  }
});

const names = chartNames(config.releaseName, config.namespace);
// With backups, a restore: when restoreBackup changes, and on a new stack (brought up again after a destroy, its
// database is filled from the kept backups before the seed looks at it).
const restore = config.backup.schedule
  ? new BackupRestore(
      "sales-db-restore",
      {
        backup: config.backup.restore,
        namespace: config.namespace,
        cronJob: names.backupCronJob,
        // The Job's own deadline, and a minute for it to be scheduled and its pod started.
        timeoutSeconds: BACKUP_TIMEOUT_SECONDS + 60,
        context: config.kubeContext,
        database: config.dbName,
        user: config.dbUser,
        password,
        target: db.target,
        waitTimeoutSeconds: config.seed.waitTimeoutSeconds,
      },
      // The restore's Job is made from the backup CronJob: the chart's, or for a cluster its backup-only release's.
      {
        dependsOn: [deployed, ...(cluster?.backups ? [cluster.backups] : [])],
        provider: dynamicProviderHost,
      },
    )
  : undefined;

const seed = new SalesSeed(
  "sales-seed",
  {
    csv: config.seed.csv,
    rules: config.seed.rules,
    table: config.seed.table,
    database: config.dbName,
    user: config.dbUser,
    password,
    target: db.target,
    maxRejectedShare: config.seed.maxRejectedShare,
    waitTimeoutSeconds: config.seed.waitTimeoutSeconds,
    // A retained volume keeps its data: destroy leaves the table in it too.
    keepTableOnDelete: config.pvcRetention === "Retain",
  },
  // The seed goes before the release on destroy, and after it on up.
  { dependsOn: [deployed, ...(restore ? [restore] : [])], provider: dynamicProviderHost },
);

seed.validation.apply((validation) => {
  if (!validation) return;
  // The data-quality lines a pull request's preview comment shows: counts, counts by rule, each rejected line.
  const byRule = RULE_IDS.filter((rule) => validation.byRule[rule]).map(
    (rule) => `${rule} ${validation.byRule[rule]}`,
  );
  const summary = `${validation.valid} valid, ${validation.rejected} rejected`;
  pulumi.log.info(`${config.seed.csv}: ${summary}${byRule.length ? ` (${byRule.join(", ")})` : ""}`, seed);
  for (const reject of validation.rejects) {
    pulumi.log.warn(`Invalid sale: line ${reject.line} [${reject.rules.join(", ")}]`, seed);
  }
  // The state keeps the first rejects only; the CLI lists them all.
  const unlisted = validation.rejected - validation.rejects.length;
  if (unlisted > 0) {
    pulumi.log.warn(`… and ${unlisted} more: ${validateCommand(config.seed)}`, seed);
  }
});

export const namespace = db.namespace;
export const instances = config.instances;
export const statefulSet = chart?.statefulSetName;
export const pod = chart?.podName;
export const pvc = chart?.pvcName;
export const service = chart ? chart.serviceHost : cluster?.readWriteService;
export const headlessService = chart?.headlessServiceHost;
/** Two or more instances: the Service of the replicas (read-only). */
export const readOnlyService = cluster?.readOnlyService;
export const port = db.port;
export const secretName = db.secretName;
export const seeded = {
  table: seed.table,
  rows: seed.rowCount,
  valid: seed.validation.apply((v) => v?.valid),
  rejected: seed.validation.apply((v) => v?.rejected),
  byRule: seed.validation.apply((v) => v?.byRule),
  sha256: seed.validation.apply((v) => v?.rowsSha256),
};
// A psql through a port-forward: to the chart's pod, or to the primary (the -rw Service) and a replica (-ro),
// verifying the cluster's CA. A script for sh: sh -c "$(pulumi stack output connect)"
const psqlVia = (forward: pulumi.Input<string>) =>
  pulumi.all([db.namespace, forward, db.port, db.secretName]).apply(([ns, to, dbPort, secret]) =>
    connectCommand({
      namespace: ns,
      forward: to,
      port: dbPort,
      secretName: secret,
      secretKey: cluster ? BASIC_AUTH_PASSWORD : PASSWORD_KEY,
      user: config.dbUser,
      database: config.dbName,
      ...(cluster ? { tls: { caSecret: cluster.caSecret, servername: haNames.readWrite } } : {}),
    }),
  );
const haNames = clusterNames(config.releaseName, config.namespace);
export const connect = psqlVia(chart ? pulumi.interpolate`pod/${chart.podName}` : `svc/${haNames.readWrite}`);
export const connectReadOnly = cluster ? psqlVia(`svc/${haNames.readOnly}`) : undefined;
// The backups' volume, and a command that lists what it holds (a pod that mounts it, removed when done):
// sh -c "$(pulumi stack output listBackups)". Neither exists without backupSchedule.
export const backupVolume = config.backup.schedule ? names.backupVolume : undefined;
export const listBackups = config.backup.schedule
  ? listBackupsCommand(config.namespace, names.backupVolume, `${config.image.repository}:${config.image.tag}`)
  : undefined;
export const restoredBackup = restore?.restored;
