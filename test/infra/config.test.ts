import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { DEFAULTS, loadConfig, type ConfigSource } from "../../infra/config";

/** A config reader over plain values, with the same contract as pulumi.Config for the calls loadConfig makes. */
function source(values: Record<string, string>, password: string | null = "pw"): ConfigSource {
  return {
    name: "sales-db",
    get: (key: string) => (key === "dbPassword" ? (password ?? undefined) : values[key]),
    getSecret: (key: string) =>
      key === "dbPassword" && password !== null ? pulumi.secret(password) : undefined,
  } as ConfigSource;
}
const noKube = { get: () => undefined } as unknown as pulumi.Config;
const read = (values: Record<string, string>) => loadConfig(source(values), noKube);
const failure = (values: Record<string, string>) => {
  try {
    read(values);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected loadConfig to fail");
};

describe("stack config", () => {
  it("defaults every key as Pulumi.yaml documents it", () => {
    const project = parse(readFileSync("Pulumi.yaml", "utf8")) as {
      config: Record<string, { default?: unknown }>;
    };
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect(project.config[key], `Pulumi.yaml describes ${key}`).to.not.equal(undefined);
      expect(String(project.config[key]?.default), `default of ${key}`).to.equal(String(value));
    }
    // Optional: Pulumi requires a value for a key without a default, and refuses a default for a secret key.
    expect(project.config.dbPassword).to.deep.include({ type: "string", default: "" });
  });

  it("reads the defaults into one typed object", () => {
    const config = read({});
    expect(config).to.deep.include({
      namespace: "sales-db",
      storageSize: "1Gi",
      dbName: "sales_db",
      pvcRetention: "Delete",
      image: { repository: "postgres", tag: "17.6" },
    });
    expect(config.seed).to.deep.equal({
      csv: "data/sales.csv",
      rules: "data/config.yaml",
      table: "sales",
      maxRejectedShare: undefined,
      connection: { mode: "port-forward" },
      waitTimeoutSeconds: 120,
    });
  });

  it("the staging and prod stacks retain and protect their larger volumes", () => {
    for (const [stack, size] of [
      ["staging", "2Gi"],
      ["prod", "5Gi"],
    ]) {
      const file = parse(readFileSync(`Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, string> };
      const values = Object.fromEntries(
        Object.entries(file.config).map(([k, v]) => [k.replace("sales-db:", ""), String(v)]),
      );
      expect(read(values)).to.deep.include({ storageSize: size, pvcRetention: "Retain", protect: true });
    }
  });

  it("reads instances: 1 by default (the chart), 3 on prod and 2 on staging (CloudNativePG), at most 9", () => {
    expect(read({}).instances).to.equal(1);
    for (const [stack, instances] of [
      ["dev", 1],
      ["staging", 2],
      ["prod", 3],
    ] as const) {
      const file = parse(readFileSync(`Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, string> };
      const values = Object.fromEntries(
        Object.entries(file.config).map(([k, v]) => [k.replace("sales-db:", ""), String(v)]),
      );
      expect(read(values).instances, stack).to.equal(instances);
      expect(read(values).backup.schedule, `${stack}: nightly backups, HA or not`).to.equal(
        stack === "dev" ? "" : "0 3 * * *",
      );
    }
    for (const bad of ["0", "10", "2.5", "two"]) {
      expect(failure({ instances: bad })).to.contain(
        `config sales-db:instances must be an integer from 1 to 9`,
      );
    }
  });

  it("takes backupSchedule with two or more instances (the backups dump the primary)", () => {
    expect(read({ instances: "2", backupSchedule: "@daily", restoreBackup: "latest" }).backup).to.deep.equal({
      schedule: "@daily",
      keep: 7,
      restore: "latest",
    });
  });

  it("direct mode with two or more instances connects to the cluster's read-write Service by default", () => {
    expect(
      read({ instances: "3", seedConnection: "direct", namespace: "ns", releaseName: "db" }).seed.connection,
    ).to.deep.equal({ mode: "direct", host: "db-rw.ns.svc", port: 5432 });
  });

  for (const [key, value, message] of [
    ["storageSize", "lots", 'config sales-db:storageSize must be a storage quantity like 1Gi, got "lots"'],
    ["namespace", "Sales_DB", "config sales-db:namespace must be a DNS label"],
    ["pvcRetention", "Keep", "config sales-db:pvcRetention must be one of Delete, Retain"],
    [
      "image",
      "postgres",
      "config sales-db:image must be an image whose pinned tag starts with the PostgreSQL major",
    ],
    [
      "image",
      "postgres:bookworm",
      "config sales-db:image must be an image whose pinned tag starts with the PostgreSQL major",
    ],
    ["image", "postgres:latest", "config sales-db:image must be pinned to a version, not latest"],
    ["dbName", "sales-db", "config sales-db:dbName must be a PostgreSQL identifier"],
    ["seedMaxRejectedShare", "2", "config sales-db:seedMaxRejectedShare must be a number from 0 to 1"],
    ["seedConnection", "ssh", "config sales-db:seedConnection must be one of port-forward, direct"],
    ["protect", "yes", "config sales-db:protect must be true or false"],
    ["helmTimeout", "5", "config sales-db:helmTimeout must be an integer from 30 to 3600"],
    [
      "backupSchedule",
      "every night",
      'config sales-db:backupSchedule must be a cron schedule like "0 3 * * *"',
    ],
    ["backupSchedule", "0 3 * *", 'config sales-db:backupSchedule must be a cron schedule like "0 3 * * *"'],
    ["backupKeep", "0", "config sales-db:backupKeep must be an integer from 1 to 1000"],
    [
      "restoreBackup",
      "../../etc/passwd",
      "config sales-db:restoreBackup must be latest or a backup's name like sales_db-20261204T030000Z.dump",
    ],
    [
      "dbPasswordGeneration",
      "-1",
      "config sales-db:dbPasswordGeneration must be an integer from 0 to 1000000",
    ],
  ] as const) {
    it(`rejects ${key}=${value} naming the key`, () => {
      expect(failure({ [key]: value })).to.contain(message);
    });
  }

  it("reads backups: none by default, a schedule in any cron form, and a restore only where there are backups", () => {
    expect(read({}).backup).to.deep.equal({ schedule: "", keep: 7, restore: "" });
    for (const schedule of ["0 3 * * *", "*/15 * * * *", "0 3 * * MON-FRI", "@daily"]) {
      expect(read({ backupSchedule: schedule }).backup.schedule).to.equal(schedule);
    }
    expect(
      read({ backupSchedule: "@daily", restoreBackup: "latest", backupKeep: "30" }).backup,
    ).to.deep.equal({
      schedule: "@daily",
      keep: 30,
      restore: "latest",
    });
    expect(failure({ restoreBackup: "latest" })).to.contain(
      "config sales-db:restoreBackup must be empty while backupSchedule is",
    );
  });

  it("takes seedServerCa as a Kubernetes object name, and leaves it unset when empty", () => {
    expect(read({ seedServerCa: "our-own-ca" }).seed.caSecret).to.equal("our-own-ca");
    expect(read({ seedServerCa: "" }).seed.caSecret).to.equal(undefined);
    expect(failure({ seedServerCa: "Our CA" })).to.contain(
      'config sales-db:seedServerCa must be a Kubernetes object name or empty, got "Our CA"',
    );
  });

  it("direct mode needs a host, and takes the port", () => {
    expect(failure({ seedConnection: "direct" })).to.contain(
      "config sales-db:seedHost must be set when seedConnection is direct",
    );
    expect(
      read({ seedConnection: "direct", seedHost: "db.internal", seedPort: "6432" }).seed.connection,
    ).to.deep.equal({
      mode: "direct",
      host: "db.internal",
      port: 6432,
    });
  });

  it("reads a set password as a secret, and leaves an unset one for the program to generate", async () => {
    const set = loadConfig(source({}, "chosen-pw"), noKube).dbPassword;
    expect(set && (await pulumi.isSecret(set))).to.equal(true);
    expect(loadConfig(source({}, null), noKube).dbPassword).to.equal(undefined);
    expect(loadConfig(source({}, ""), noKube).dbPassword, "Pulumi.yaml's default").to.equal(undefined);
  });

  it("passes kubernetes:context to the seeder so it forwards to the stack's cluster", () => {
    const kube = {
      get: (key: string) => (key === "context" ? "minikube" : undefined),
    } as unknown as pulumi.Config;
    expect(loadConfig(source({}), kube).kubeContext).to.equal("minikube");
  });
});
