import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { find, runProgram, secretValue, valueOf, type Registered } from "../../support/pulumi";
import { PASSWORD, stackConfig } from "../../support/stacks";

const CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const SEED = "pulumi-nodejs:dynamic/seed:SalesSeed";
const ROLE_PASSWORD = "pulumi-nodejs:dynamic/postgres:RolePassword";
const VOLUME_RELEASE = "pulumi-nodejs:dynamic/cnpg:VolumeRelease";
const PREFLIGHT = "pulumi-nodejs:dynamic/postgres:Preflight";
const RESTORE = "pulumi-nodejs:dynamic/backup:BackupRestore";

describe("Pulumi program (mocks): instances", () => {
  for (const [stack, instances, size] of [
    ["staging", 2, "2Gi"],
    ["prod", 3, "5Gi"],
  ] as const) {
    describe(`the ${stack} stack: a CloudNativePG Cluster of ${instances}`, () => {
      let resources: Registered[];
      let exports: Record<string, pulumi.Output<unknown>>;
      before(async () => ({ resources, exports } = await runProgram(stack, stackConfig(stack))));

      it("deploys a Cluster, and the chart for its backups only: no server of the chart's", () => {
        expect(resources.filter((r) => r.type === CLUSTER)).to.have.length(1);
        const releases = resources.filter((r) => r.type === RELEASE);
        expect(releases).to.have.length(1);
        const values = releases[0]!.inputs.values as { server: object; backup: object };
        expect(values.server).to.deep.equal({
          enabled: false,
          service: "postgres-rw",
          caSecret: "postgres-ca",
        });
        expect(values.backup).to.deep.include({ schedule: "0 3 * * *", keep: 7 });
      });

      it("backs up the primary through postgres-rw with the Cluster's Secret, after the Cluster, never waiting", () => {
        const release = find(resources, RELEASE);
        expect(release.inputs).to.include({
          name: "postgres",
          namespace: `sales-db-${stack}`,
          skipAwait: true,
          atomic: false,
        });
        expect((release.inputs.values as { auth: object }).auth).to.deep.equal({
          database: "sales_db",
          username: "sales",
          existingSecret: "postgres-auth",
          secretKey: "password",
        });
        expect(
          (release.inputs.values as { persistence: object }).persistence,
          "Retain keeps the volume",
        ).to.deep.include({ size, retentionPolicy: "Retain" });
        expect(release.dependsOn).to.include(find(resources, CLUSTER).name);
      });

      it("restores with a Job of the backup CronJob into the primary, after the Cluster and that CronJob", () => {
        const restore = find(resources, RESTORE);
        expect(restore.inputs).to.include({
          namespace: `sales-db-${stack}`,
          cronJob: "postgres-backup",
          database: "sales_db",
          user: "sales",
        });
        expect(restore.inputs.target).to.deep.equal(find(resources, SEED).inputs.target);
        expect(restore.dependsOn).to.include.members([
          find(resources, CLUSTER).name,
          find(resources, RELEASE).name,
        ]);
        expect(find(resources, SEED).dependsOn).to.include(restore.name);
      });

      it("exports the backup volume and its list command", async () => {
        expect(await valueOf(pulumi.output(exports.backupVolume))).to.equal("postgres-backups");
        expect(await valueOf(pulumi.output(exports.listBackups))).to.contain("claimName");
      });

      it("gives the Cluster the stack's instances, image, uid, storage, resources and bootstrap Secret", () => {
        const cluster = find(resources, CLUSTER).inputs as {
          metadata: { name: string; namespace: string; annotations: Record<string, string> };
          spec: Record<string, unknown>;
        };
        expect(cluster.metadata).to.include({ name: "postgres", namespace: `sales-db-${stack}` });
        expect(cluster.metadata.annotations).to.deep.equal({ "pulumi.com/waitFor": "condition=Ready" });
        expect(cluster.spec).to.deep.include({
          instances,
          imageName: "postgres:17.6",
          imagePullPolicy: "IfNotPresent",
          postgresUID: 999,
          postgresGID: 999,
          bootstrap: { initdb: { database: "sales_db", owner: "sales", secret: { name: "postgres-auth" } } },
          storage: { size },
        });
        expect(cluster.spec.resources).to.have.nested.property("limits.memory");
      });

      it("keeps the password in a basic-auth Secret, as a secret, and nowhere else in plain text", () => {
        const secret = find(resources, SECRET).inputs as { type: string; stringData: unknown };
        expect(secret.type).to.equal("kubernetes.io/basic-auth");
        expect(secretValue(secret.stringData)).to.deep.equal({ username: "sales", password: PASSWORD });
        for (const resource of resources.filter(
          (r) => ![SECRET, SEED, ROLE_PASSWORD, RESTORE].includes(r.type),
        )) {
          expect(JSON.stringify(resource.inputs), resource.type).to.not.include(PASSWORD);
        }
        expect(secretValue(find(resources, SEED).inputs.password)).to.equal(PASSWORD);
        expect(secretValue(find(resources, RESTORE).inputs.password), "the restore's, a secret").to.equal(
          PASSWORD,
        );
        expect(JSON.stringify(find(resources, RELEASE).inputs), "the backups' release").to.not.include(
          PASSWORD,
        );
      });

      it("seeds the primary of the moment (a label selector, never a pod name) over TLS verified by the cluster's CA", () => {
        expect(find(resources, SEED).inputs.target).to.deep.equal({
          mode: "port-forward",
          namespace: `sales-db-${stack}`,
          pod: "postgres",
          selector: "cnpg.io/cluster=postgres,cnpg.io/instanceRole=primary",
          port: 5432,
          secretName: "postgres-auth",
          secretKey: "password",
          tls: {
            namespace: `sales-db-${stack}`,
            secretName: "postgres-ca",
            secretKey: "ca.crt",
            servername: "postgres-rw",
          },
        });
        expect(find(resources, ROLE_PASSWORD).inputs.target).to.deep.equal(
          find(resources, SEED).inputs.target,
        );
      });

      it("keeps the volumes on destroy (Retain): a release of the PVCs deleted before the Cluster", () => {
        const release = find(resources, VOLUME_RELEASE);
        expect(release.inputs).to.include({
          namespace: `sales-db-${stack}`,
          selector: "cnpg.io/cluster=postgres",
          retain: true,
        });
      });

      it("tells the preflight the instances, so that it looks for the operator and refuses a topology change", () => {
        expect(find(resources, PREFLIGHT).inputs.instances).to.equal(instances);
      });

      it("exports the read-write and read-only Services and a psql to each, verifying the CA", async () => {
        expect(await valueOf(exports.service!)).to.equal(`postgres-rw.sales-db-${stack}.svc.cluster.local`);
        expect(await valueOf(exports.readOnlyService!)).to.equal(
          `postgres-ro.sales-db-${stack}.svc.cluster.local`,
        );
        expect(await valueOf(pulumi.output(exports.pod))).to.equal(undefined);
        const connect = (await valueOf(exports.connect!)) as string;
        const readOnly = (await valueOf(exports.connectReadOnly!)) as string;
        expect(connect).to.contain(`kubectl -n sales-db-${stack} port-forward svc/postgres-rw :5432`);
        expect(readOnly).to.contain(`kubectl -n sales-db-${stack} port-forward svc/postgres-ro :5432`);
        for (const command of [connect, readOnly]) {
          expect(command).to.contain("get secret postgres-ca -o jsonpath='{.data.ca\\.crt}'");
          expect(command).to.contain("host=postgres-rw hostaddr=127.0.0.1 port=$port sslmode=verify-full");
          expect(command).to.contain("{.data.password}");
          expect(command).to.not.contain(PASSWORD);
        }
      });
    });
  }

  for (const [stack, config] of [
    ["dev", stackConfig("dev")],
    ["pr-42", { "sales-db:namespace": "sales-db-pr-42", "sales-db:dbPassword": PASSWORD }],
  ] as const) {
    it(`keeps the ${stack} stack on the chart: one instance by default, no Cluster, no read-only Service`, async () => {
      const { resources, exports } = await runProgram(stack, config);
      expect(resources.some((r) => r.type === CLUSTER)).to.equal(false);
      expect(resources.some((r) => r.type === RELEASE)).to.equal(true);
      expect(find(resources, PREFLIGHT).inputs).to.not.have.property("instances");
      expect(await valueOf(pulumi.output(exports.connectReadOnly))).to.equal(undefined);
    });
  }

  it("verifies the server against the CA Secret seedServerCa names, in the seed and both psql outputs", async () => {
    const { resources, exports } = await runProgram(
      "dev",
      stackConfig("dev", { "sales-db:instances": "2", "sales-db:seedServerCa": "our-own-ca" }),
    );
    const target = find(resources, SEED).inputs.target as { tls: { secretName: string; servername: string } };
    expect(target.tls).to.include({ secretName: "our-own-ca", servername: "postgres-rw" });
    for (const output of [exports.connect!, exports.connectReadOnly!]) {
      const command = (await valueOf(output)) as string;
      expect(command).to.contain("get secret our-own-ca -o jsonpath='{.data.ca\\.crt}'");
      expect(command).to.not.contain("postgres-ca");
    }
  });

  it("deletes the volumes with the Cluster on a Delete stack", async () => {
    const { resources } = await runProgram("dev", stackConfig("dev", { "sales-db:instances": "2" }));
    expect(find(resources, VOLUME_RELEASE).inputs.retain).to.equal(false);
  });

  it("restores the backup restoreBackup names into a cluster, before the seed", async () => {
    const { resources, exports } = await runProgram(
      "prod",
      stackConfig("prod", { "sales-db:restoreBackup": "latest" }),
    );
    const restore = find(resources, RESTORE);
    expect(restore.inputs.backup).to.equal("latest");
    expect(restore.dependsOn).to.include(find(resources, RELEASE).name);
    expect(find(resources, SEED).dependsOn).to.include(restore.name);
    expect(await valueOf(pulumi.output(exports.restoredBackup))).to.equal(undefined);
  });

  it("verifies the backups' server against the CA Secret seedServerCa names", async () => {
    const { resources } = await runProgram(
      "prod",
      stackConfig("prod", { "sales-db:seedServerCa": "our-own-ca" }),
    );
    expect((find(resources, RELEASE).inputs.values as { server: object }).server).to.deep.include({
      caSecret: "our-own-ca",
    });
  });

  it("makes no backups, release or restore for a cluster without backupSchedule", async () => {
    const { resources, exports } = await runProgram(
      "prod",
      stackConfig("prod", { "sales-db:backupSchedule": "" }),
    );
    expect(resources.some((r) => r.type === RELEASE || r.type === RESTORE)).to.equal(false);
    expect(await valueOf(pulumi.output(exports.backupVolume))).to.equal(undefined);
  });
});
