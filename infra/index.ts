import * as pulumi from "@pulumi/pulumi";
import { PASSWORD_KEY } from "./chart";
import { loadConfig } from "./config";
import { GeneratedPassword } from "./password";
import { PostgresDatabase } from "./postgres";
import { SalesSeed } from "./seed";
import type { SeedTarget } from "./seeder";
import { RULE_IDS } from "../loader/validate";

const config = loadConfig();
// A password the user set wins; otherwise one is generated once and kept, secret, in the state.
const password = config.dbPassword ?? new GeneratedPassword("sales-db-password").result;

const db = new PostgresDatabase("sales-db", {
  namespace: config.namespace,
  createNamespace: config.createNamespace,
  releaseName: config.releaseName,
  image: config.image,
  dbName: config.dbName,
  dbUser: config.dbUser,
  password,
  storageSize: config.storageSize,
  storageClass: config.storageClass,
  pvcRetention: config.pvcRetention,
  resources: config.resources,
  helmTimeoutSeconds: config.helmTimeoutSeconds,
  protect: config.protect,
});

const connection = config.seed.connection;
const target: pulumi.Input<SeedTarget> =
  connection.mode === "direct"
    ? connection
    : pulumi.all([db.namespace, db.podName, db.secretName]).apply(([namespace, pod, secretName]) => ({
        mode: "port-forward" as const,
        namespace,
        pod,
        port: 5432,
        secretName,
        secretKey: PASSWORD_KEY,
        ...(config.kubeContext ? { context: config.kubeContext } : {}),
      }));

const seed = new SalesSeed(
  "sales-seed",
  {
    csv: config.seed.csv,
    rules: config.seed.rules,
    table: config.seed.table,
    database: config.dbName,
    user: config.dbUser,
    password,
    target,
    maxRejectedShare: config.seed.maxRejectedShare,
    waitTimeoutSeconds: config.seed.waitTimeoutSeconds,
  },
  // The seed goes before the release on destroy, and after it on up.
  { dependsOn: [db.release] },
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
    pulumi.log.warn(
      `… and ${unlisted} more: sales-db validate --csv ${config.seed.csv} --rules ${config.seed.rules}`,
      seed,
    );
  }
});

export const namespace = db.namespace;
export const statefulSet = db.statefulSetName;
export const pod = db.podName;
export const pvc = db.pvcName;
export const service = db.serviceHost;
export const headlessService = db.headlessServiceHost;
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
export const connect = pulumi.interpolate`kubectl -n ${db.namespace} port-forward pod/${db.podName} 5432:5432 & \
PGPASSWORD="$(kubectl -n ${db.namespace} get secret ${db.secretName} -o jsonpath='{.data.${PASSWORD_KEY}}' | base64 -d)" \
psql -h 127.0.0.1 -p 5432 -U ${config.dbUser} -d ${config.dbName} -c 'SELECT * FROM ${config.seed.table}'`;
