import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { chmod, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { POD_SECURITY } from "../../infra/postgres/chart";
import { scratch } from "../support/files";
import { waitFor } from "../support/wait";
import { PASSWORD, stackConfig } from "../support/stacks";
import {
  find,
  GENERATED_PASSWORD,
  runProgram,
  secretValue,
  valueOf,
  type Registered,
} from "../support/pulumi";

/** A stack file's settings on one pod: the chart, with nightly backups (prod and staging run a Cluster). */
const ONE_POD = { "sales-db:instances": "1", "sales-db:backupSchedule": "0 3 * * *" };

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const SEED = "pulumi-nodejs:dynamic/seed:SalesSeed";
const ROLE_PASSWORD = "pulumi-nodejs:dynamic/postgres:RolePassword";
const RESTORE = "pulumi-nodejs:dynamic/backup:BackupRestore";
/** The resources that hold the password, each as a secret input. */
const HOLDERS = [SECRET, SEED, ROLE_PASSWORD, RESTORE];
const DYNAMIC_HOST = "pulumi:providers:pulumi-nodejs";
/** A reference (`urn::id`) to the program's explicit host of dynamic resources. */
const hostReference = (stack: string) =>
  new RegExp(`^urn:pulumi:${stack}::sales-db::${DYNAMIC_HOST}::dynamic-resources::.`);

/**
 * Runs the `connect` output with sh, as the README says, against stand-ins for kubectl (a port-forward that picks
 * port 43117 and runs until killed; a Secret read) and psql (records what it got). Reports what happened.
 */
async function runConnect(script: string) {
  const files = await scratch();
  try {
    const log = `${files.dir}/calls`;
    const kubectl = await files.write(
      "kubectl",
      `#!/bin/sh\necho "$*" >>${log}\ncase "$*" in\n` +
        `*port-forward*) echo "Forwarding from 127.0.0.1:43117 -> 5432"; echo $$ >${files.dir}/forward.pid; exec sleep 30;;\n` +
        `*secret*) printf %s from-the-secret | base64;;\nesac\n`,
    );
    const psql = await files.write(
      "psql",
      `#!/bin/sh\necho "$*" >${files.dir}/psql.args\nprintf %s "$PGPASSWORD" >${files.dir}/psql.password\n`,
    );
    await chmod(kubectl, 0o755);
    await chmod(psql, 0o755);
    const stderr = await new Promise<string>((done, fail) =>
      execFile(
        "sh",
        ["-c", script],
        { env: { ...process.env, PATH: `${files.dir}:${process.env.PATH}` }, timeout: 10_000 },
        (error, _stdout, stderr) => (error ? fail(error) : done(stderr)),
      ),
    );
    const forwardPid = Number(await readFile(`${files.dir}/forward.pid`, "utf8"));
    // The trap's kill takes a moment to land; a zombie (nobody may reap it here) counts as stopped.
    const running = async () =>
      (await readFile(`/proc/${forwardPid}/stat`, "utf8").catch(() => "")).match(/\) ([A-Z])/)?.[1] ?? "Z";
    const stopped = async () => (await running()) === "Z";
    const forwardLeft = await waitFor(stopped, 2_000).then(
      () => false,
      () => true,
    );
    if (forwardLeft) process.kill(forwardPid, "SIGKILL");
    return {
      stderr,
      forwardLeft,
      kubectlCalls: (await readFile(log, "utf8")).trim().split("\n"),
      psqlArgs: (await readFile(`${files.dir}/psql.args`, "utf8")).trim(),
      psqlPassword: await readFile(`${files.dir}/psql.password`, "utf8"),
    };
  } finally {
    await files.cleanup();
  }
}

describe("Pulumi program (mocks)", () => {
  for (const [stack, size, retention] of [
    ["dev", "1Gi", "Delete"],
    ["prod", "5Gi", "Retain"],
  ] as const) {
    describe(`the ${stack} stack`, () => {
      let resources: Registered[];
      let exports: Record<string, pulumi.Output<unknown>>;
      before(
        async () =>
          ({ resources, exports } = await runProgram(
            stack,
            stackConfig(stack, stack === "dev" ? {} : ONE_POD),
          )),
      );

      it("creates the PostgresDatabase component, the namespace, the Secret, the release and the seed", () => {
        expect(resources.map((r) => r.type)).to.include.members([
          "sales-db:postgres:PostgresDatabase",
          "kubernetes:core/v1:Namespace",
          SECRET,
          RELEASE,
          SEED,
        ]);
      });

      it("registers the dynamic resources' host before anything else, and runs the seed on it", () => {
        expect(resources[0]).to.include({ type: DYNAMIC_HOST, name: "dynamic-resources" });
        expect(find(resources, SEED).provider).to.match(hostReference(stack));
      });

      // What the chart renders is asserted on helm template's objects, in chart.test.ts.
      it("releases the project's own local chart as postgres, atomically, with the configured timeout", () => {
        const release = find(resources, RELEASE);
        expect(release.inputs.chart).to.equal(resolve("infra/charts/postgres"));
        expect(release.inputs).to.include({ name: "postgres", atomic: true, timeout: 300 });
      });

      it(`passes storageSize ${size}, retention ${retention} and the namespace to the release`, () => {
        const release = find(resources, RELEASE);
        const values = release.inputs.values as { persistence: Record<string, string>; chartHash: string };
        expect(values.persistence).to.include({ size, retentionPolicy: retention });
        expect(release.inputs.namespace).to.equal(`sales-db-${stack}`);
        expect(values.chartHash).to.match(/^[0-9a-f]{64}$/);
      });

      it("keeps the password in the Secret only: not in the release, the namespace or the outputs", async () => {
        const secret = find(resources, SECRET);
        expect(secretValue(secret.inputs.stringData), "stringData is a Pulumi secret").to.deep.equal({
          "postgres-password": PASSWORD,
        });
        for (const holder of HOLDERS.filter(
          (type) => type !== SECRET && resources.some((r) => r.type === type),
        )) {
          expect(
            secretValue(find(resources, holder).inputs.password),
            `${holder}'s password is a secret`,
          ).to.equal(PASSWORD);
        }
        for (const resource of resources.filter((r) => !HOLDERS.includes(r.type))) {
          expect(JSON.stringify(resource.inputs), resource.type).to.not.contain(PASSWORD);
        }
        expect(JSON.stringify(await valueOf(pulumi.output(exports)))).to.not.contain(PASSWORD);
        const values = find(resources, RELEASE).inputs.values as { auth: Record<string, string> };
        expect(values.auth).to.deep.equal({
          database: "sales_db",
          username: "sales",
          existingSecret: "postgres-auth",
          secretKey: "postgres-password",
        });
      });

      it("wires the seed to the deployed release: it forwards to the release's pod and reads the release's Secret", () => {
        const seed = find(resources, SEED);
        expect(seed.inputs.target).to.deep.equal({
          mode: "port-forward",
          namespace: `sales-db-${stack}`,
          pod: "postgres-0",
          port: 5432,
          secretName: "postgres-auth",
          secretKey: "postgres-password",
        });
        expect(seed.inputs).to.include({ csv: "data/sales.csv", rules: "data/config.yaml", table: "sales" });
        expect(seed.inputs.sourceHash).to.match(/^[0-9a-f]{64}$/);
        // A retained volume keeps the table through destroy as well.
        expect(seed.inputs.keepTableOnDelete).to.equal(retention === "Retain");
      });

      it("rotates the role's password where the seed connects, before the Secret names the new one", () => {
        const rotation = find(resources, ROLE_PASSWORD);
        expect(rotation.inputs.target).to.deep.equal(find(resources, SEED).inputs.target);
        expect(rotation.inputs).to.include({ user: "sales", database: "sales_db" });
        expect(rotation.provider, "served by the program's host").to.match(hostReference(stack));
      });

      it("gives the Secret the password the rotation reports, so the Secret changes only after the role has", async () => {
        const rotated = await runProgram(stack, stackConfig(stack, stack === "dev" ? {} : ONE_POD), {
          [ROLE_PASSWORD]: { password: pulumi.secret("as-the-role-has-it") },
        });
        expect(secretValue(find(rotated.resources, SECRET).inputs.stringData)).to.deep.equal({
          "postgres-password": "as-the-role-has-it",
        });
      });

      it("exports the names a person needs, and a ready-to-paste connect command", async () => {
        expect(await valueOf(exports.pod!)).to.equal("postgres-0");
        expect(await valueOf(exports.pvc!)).to.equal("postgres-data-postgres-0");
        expect(await valueOf(exports.service!)).to.equal(`postgres.sales-db-${stack}.svc.cluster.local`);
        const run = await runConnect((await valueOf(exports.connect!)) as string);
        // psql reached the port kubectl picked (never a fixed 5432), with the Secret's password.
        expect(run.psqlArgs).to.equal(`-h 127.0.0.1 -p 43117 -U sales -d sales_db`);
        expect(run.psqlPassword).to.equal("from-the-secret");
        expect(run.kubectlCalls).to.deep.include(`-n sales-db-${stack} port-forward pod/postgres-0 :5432`);
        expect(run.stderr).to.contain("the port-forward stops when psql exits");
        expect(run.forwardLeft, "port-forward still running after psql exited").to.equal(false);
      });
    });
  }

  describe("backups", () => {
    it("back up on a schedule where backupSchedule is set (one pod), into a volume the chart keeps; dev makes none", async () => {
      for (const [stack, scheduled] of [
        ["dev", false],
        ["staging", true],
        ["prod", true],
      ] as const) {
        const { resources, exports } = await runProgram(stack, stackConfig(stack, scheduled ? ONE_POD : {}));
        const values = find(resources, RELEASE).inputs.values as {
          backup: { schedule: string; keep: number };
        };
        expect(values.backup.schedule !== "", stack).to.equal(scheduled);
        expect(
          resources.some((r) => r.type === RESTORE),
          `${stack}: a restore resource`,
        ).to.equal(scheduled);
        expect(await valueOf(pulumi.output(exports.backupVolume)), stack).to.equal(
          scheduled ? "postgres-backups" : undefined,
        );
      }
    });

    it("restores the backup restoreBackup names into the stack's database, from the backup CronJob", async () => {
      const { resources } = await runProgram(
        "prod",
        stackConfig("prod", { ...ONE_POD, "sales-db:restoreBackup": "sales_db-20261204T030000Z.dump" }),
      );
      const restore = find(resources, RESTORE);
      expect(restore.inputs).to.include({
        backup: "sales_db-20261204T030000Z.dump",
        namespace: "sales-db-prod",
        cronJob: "postgres-backup",
        database: "sales_db",
        user: "sales",
      });
      // It binds the bookkeeping where the seed connects.
      expect(restore.inputs.target).to.deep.equal(find(resources, SEED).inputs.target);
      expect(restore.provider, "served by the program's host").to.match(hostReference("prod"));
    });

    it("exports a list command: a restricted pod that mounts the backup volume read-only", async () => {
      const { exports } = await runProgram("prod", stackConfig("prod", ONE_POD));
      const command = (await valueOf(pulumi.output(exports.listBackups))) as string;
      const overrides = JSON.parse(/--overrides='([^']*)'/.exec(command)?.[1] ?? "null");
      expect(command).to.match(/^kubectl -n sales-db-prod run list-backups-\$\(date \+%s\) --rm -i /);
      expect(overrides.spec.volumes).to.deep.equal([
        { name: "backups", persistentVolumeClaim: { claimName: "postgres-backups", readOnly: true } },
      ]);
      expect(overrides.spec.securityContext).to.deep.equal(POD_SECURITY.pod);
      expect(overrides.spec.containers[0].securityContext).to.deep.equal(POD_SECURITY.container);
    });
  });

  it("fails on a bad value with a message that names the key", async () => {
    const error = await runProgram("dev", stackConfig("dev", { "sales-db:storageSize": "lots" })).catch(
      (e: unknown) => e,
    );
    expect(String(error)).to.contain(
      'config sales-db:storageSize must be a storage quantity like 1Gi, got "lots"',
    );
  });

  describe("without dbPassword (a fresh clone)", () => {
    let resources: Registered[];
    let exports: Record<string, pulumi.Output<unknown>>;
    let generated: string;
    before(async () => {
      const config = stackConfig("staging", ONE_POD);
      delete config["sales-db:dbPassword"];
      ({ resources, exports } = await runProgram("staging", config));
      const stored = secretValue(find(resources, SECRET).inputs.stringData) as Record<string, string>;
      generated = stored["postgres-password"] ?? "";
    });

    it("generates a strong password and gives it, as a secret, to the Secret and the seed", () => {
      expect(find(resources, GENERATED_PASSWORD).inputs).to.not.have.property("result");
      expect(find(resources, GENERATED_PASSWORD).provider, "one host for both").to.match(
        hostReference("staging"),
      );
      expect(generated).to.match(/^[A-Za-z0-9_-]{32}$/);
      expect(secretValue(find(resources, SEED).inputs.password)).to.equal(generated);
    });

    it("keeps the generated password out of every other resource's inputs and out of the outputs", async () => {
      for (const resource of resources.filter((r) => !HOLDERS.includes(r.type))) {
        expect(JSON.stringify(resource.inputs), resource.type).to.not.contain(generated);
      }
      expect(JSON.stringify(await valueOf(pulumi.output(exports)))).to.not.contain(generated);
    });
  });

  it("asks the generated password for a new generation when dbPasswordGeneration is raised", async () => {
    const config: Record<string, string> = {
      ...stackConfig("staging"),
      "sales-db:dbPasswordGeneration": "2",
    };
    delete config["sales-db:dbPassword"];
    const { resources } = await runProgram("staging", config);
    expect(find(resources, GENERATED_PASSWORD).inputs.generation).to.equal(2);
  });

  it("generates nothing when the user set dbPassword: theirs wins", async () => {
    const { resources } = await runProgram("dev", stackConfig("dev"));
    expect(resources.map((r) => r.type)).to.not.include(GENERATED_PASSWORD);
    expect(secretValue(find(resources, SECRET).inputs.stringData)).to.deep.equal({
      "postgres-password": PASSWORD,
    });
  });
});

describe("Pulumi program entry", () => {
  it("loads neither @pulumi/pulumi's root nor the program until it has registered the dynamic resources' host", () => {
    // A fresh process, as Pulumi's runner starts it: what the entry's module loads before its function runs.
    const loaded = JSON.parse(
      execFileSync(
        process.execPath,
        ["-e", 'require("./dist/infra/index.js"); console.log(JSON.stringify(Object.keys(require.cache)))'],
        { encoding: "utf8", timeout: 20_000 },
      ),
    ) as string[];
    expect(loaded).to.include(resolve("dist/infra/dynamic-host.js"));
    expect(loaded).to.not.include(resolve("dist/infra/stack.js"));
    expect(loaded).to.not.include(resolve("node_modules/@pulumi/pulumi/index.js"));
    expect(loaded.filter((file) => file.includes("/node_modules/typescript/"))).to.deep.equal([]);
  });
});
