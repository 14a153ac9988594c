import { expect } from "chai";
import { createServer, type Server } from "node:http";
import { runJobFromCronJob, type JobFromCronJob } from "../../../infra/kube/job";
import { POD_SECURITY } from "../../../infra/postgres/chart";
import { checkImageStarts } from "../../../infra/postgres/preflight/image-check";
import { SalesDbError } from "../../../loader/errors";
import { writeKubeconfig } from "../../support/stand-ins/kube-api";
import { setEnv } from "../../support/env";
import { scratch } from "../../support/files";

/** What the stand-in batch API shows of the Job it was asked to create, poll after poll. */
interface Scenario {
  /** The Job's condition, once the Job was read this many times; undefined: it never ends. */
  endsAfterPolls?: number;
  condition?: "Complete" | "Failed";
  /** The waiting reason of its pod's container, if it waits. */
  waiting?: string;
  /** How many reads of the log the API answers 404 first, as a node once did just after a container ended. */
  logMisses?: number;
  log: string;
}

/**
 * A stand-in for the Kubernetes API, just enough for a Job made from a CronJob: the CronJob, the Job's creation,
 * reads and deletion, its pods and their log. It records what it was sent.
 */
async function startBatchApi(scenario: Scenario) {
  const files = await scratch();
  const seen = {
    created: undefined as Record<string, unknown> | undefined,
    deleted: false,
    polls: 0,
    logReads: 0,
  };
  const ended = () => scenario.endsAfterPolls !== undefined && seen.polls > scenario.endsAfterPolls;
  const containerState = () =>
    scenario.waiting ? { waiting: { reason: scenario.waiting, message: "no such image" } } : {};
  const json = (body: unknown) => JSON.stringify(body);
  const server: Server = createServer((request, response) => {
    const url = request.url ?? "";
    const send = (status: number, body: string, type = "application/json") =>
      response.writeHead(status, { "content-type": type }).end(body);
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      if (url.startsWith("/apis/batch/v1/namespaces/ns/cronjobs/postgres-backup")) {
        send(
          200,
          json({
            apiVersion: "batch/v1",
            kind: "CronJob",
            metadata: { name: "postgres-backup", uid: "cron-uid-1" },
            spec: {
              schedule: "0 3 * * *",
              jobTemplate: {
                metadata: { labels: { app: "backup" } },
                spec: {
                  activeDeadlineSeconds: 3600,
                  template: {
                    spec: {
                      restartPolicy: "Never",
                      containers: [
                        {
                          name: "backup",
                          image: "postgres:17",
                          command: ["sh", "/scripts/backup.sh"],
                          env: [],
                        },
                      ],
                    },
                  },
                },
              },
            },
          }),
        );
      } else if (url.startsWith("/apis/batch/v1/namespaces/ns/cronjobs/")) {
        send(404, json({ kind: "Status", code: 404, message: "not found" }));
      } else if (request.method === "POST" && url.startsWith("/apis/batch/v1/namespaces/ns/jobs")) {
        seen.created = JSON.parse(body) as Record<string, unknown>;
        send(201, body);
      } else if (request.method === "DELETE" && url.startsWith("/apis/batch/v1/namespaces/ns/jobs/")) {
        seen.deleted = true;
        send(200, json({ kind: "Status", status: "Success" }));
      } else if (url.startsWith("/apis/batch/v1/namespaces/ns/jobs/")) {
        seen.polls += 1;
        const conditions = ended()
          ? [{ type: scenario.condition, status: "True", reason: "BackoffLimitExceeded" }]
          : [];
        send(200, json({ ...seen.created, status: { conditions } }));
      } else if (request.method === "POST" && url.startsWith("/api/v1/namespaces/ns/pods")) {
        seen.created = JSON.parse(body) as Record<string, unknown>;
        send(201, body);
      } else if (request.method === "DELETE" && /^\/api\/v1\/namespaces\/ns\/pods\/[^/?]+/.test(url)) {
        seen.deleted = true;
        send(200, json({ kind: "Status", status: "Success" }));
      } else if (/^\/api\/v1\/namespaces\/ns\/pods\/[^/?]+$/.test(url)) {
        seen.polls += 1;
        const done = ended() && scenario.condition === "Complete";
        const failed = ended() && scenario.condition === "Failed";
        const state = failed ? { terminated: { exitCode: 3, reason: "Error" } } : containerState();
        send(
          200,
          json({
            ...seen.created,
            status: {
              phase: done ? "Succeeded" : failed ? "Failed" : "Pending",
              containerStatuses: [{ name: "postgres", state }],
            },
          }),
        );
      } else if (url.startsWith("/api/v1/namespaces/ns/pods?")) {
        const waiting = containerState();
        send(
          200,
          json({
            kind: "PodList",
            items: [
              {
                metadata: { name: "job-pod", creationTimestamp: "2026-12-04T03:00:00Z" },
                status: { containerStatuses: [{ name: "backup", state: waiting }] },
              },
            ],
          }),
        );
      } else if (/^\/api\/v1\/namespaces\/ns\/pods\/[^/]+\/log/.test(url)) {
        seen.logReads += 1;
        if (seen.logReads <= (scenario.logMisses ?? 0)) {
          send(
            404,
            json({ kind: "Status", code: 404, message: "the server could not find the requested resource" }),
          );
        } else {
          send(200, scenario.log, "text/plain");
        }
      } else {
        send(404, json({ kind: "Status", code: 404, message: `no route ${url}` }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no TCP address");
  const kubeconfig = await writeKubeconfig(files, address.port);
  return {
    kubeconfig,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await files.cleanup();
    },
  };
}

/** Registers the hooks of a describe block whose tests each start a stand-in, as the current kubeconfig. */
function standInPerTest(): (scenario: Scenario) => ReturnType<typeof startBatchApi> {
  let api: Awaited<ReturnType<typeof startBatchApi>> | undefined;
  let restoreKubeconfig: () => void = () => undefined;
  afterEach(async () => {
    restoreKubeconfig();
    await api?.close();
    api = undefined;
  });
  return async (scenario) => {
    api = await startBatchApi(scenario);
    restoreKubeconfig = setEnv("KUBECONFIG", api.kubeconfig);
    return api;
  };
}

const RUN: JobFromCronJob = {
  namespace: "ns",
  cronJob: "postgres-backup",
  name: "postgres-backup-restore-1",
  command: ["sh", "/scripts/restore.sh"],
  env: { BACKUP_NAME: "latest" },
  what: "restore of backup latest",
};
const LIMITS = { runMs: 3_000, requestMs: 2_000, pollMs: 20 };

describe("a Job run from a CronJob's template (stand-in API)", () => {
  const start = standInPerTest();
  const failure = (run = RUN) =>
    runJobFromCronJob(run, LIMITS).then(
      () => expect.fail("the Job was expected to fail"),
      (error: unknown) => {
        expect(error).to.be.instanceOf(SalesDbError);
        return error as SalesDbError;
      },
    );

  it("runs the template with the command and environment asked for, and returns its log once it completes", async () => {
    const { seen } = await start({
      endsAfterPolls: 2,
      condition: "Complete",
      log: "restoring x\nrestored x\n",
    });
    expect(await runJobFromCronJob(RUN, LIMITS)).to.deep.equal(["restoring x", "restored x"]);
    const spec = seen.created?.spec as {
      activeDeadlineSeconds: number;
      ttlSecondsAfterFinished: number;
      template: { spec: { containers: { command: string[]; env: unknown[] }[] } };
    };
    expect(spec.template.spec.containers[0]?.command).to.deep.equal(["sh", "/scripts/restore.sh"]);
    expect(spec.template.spec.containers[0]?.env).to.deep.equal([{ name: "BACKUP_NAME", value: "latest" }]);
    expect(spec.activeDeadlineSeconds, "the template's own bound is kept").to.equal(3600);
    expect(spec.ttlSecondsAfterFinished).to.be.greaterThan(0);
    expect(seen.deleted, "a completed Job stays for its log").to.equal(false);
    expect(
      (seen.created?.metadata as { ownerReferences: unknown[] }).ownerReferences,
      "the Job goes with its CronJob",
    ).to.deep.equal([
      { apiVersion: "batch/v1", kind: "CronJob", name: "postgres-backup", uid: "cron-uid-1" },
    ]);
  });

  it("a Job that fails is reported in one line with the log line that says why, and deleted", async () => {
    const { seen } = await start({
      endsAfterPolls: 1,
      condition: "Failed",
      log: 'restoring x\npg_restore: error: could not execute query: ERROR:  relation "orders" is locked\nCommand was: …\n',
    });
    const error = await failure();
    expect(error.code).to.equal("job_failed");
    expect(error.message).to.contain(
      "the restore of backup latest (Job ns/postgres-backup-restore-1) failed",
    );
    expect(error.message).to.contain(
      'pg_restore: error: could not execute query: ERROR:  relation "orders" is locked',
    );
    expect(error.message).to.not.contain("\n");
    expect(seen.deleted).to.equal(true);
  });

  it("a container that cannot start fails at once, not at the end of the Job's bound", async () => {
    const { seen } = await start({ waiting: "ErrImagePull", log: "" });
    const error = await failure();
    expect(error.message).to.contain("cannot start: container backup: ErrImagePull (no such image)");
    expect(seen.polls, "failed at the first look").to.equal(1);
    expect(seen.deleted).to.equal(true);
  });

  it("a Job that never ends is stopped at its bound and deleted", async () => {
    const { seen } = await start({ log: "restoring x\n" });
    const error = await failure();
    expect(error.message).to.match(/did not finish within \d+s and was stopped/);
    expect(seen.polls).to.be.greaterThan(1);
    expect(seen.deleted).to.equal(true);
  });

  it("a missing CronJob says what is gone and what recreates it", async () => {
    await start({ log: "" });
    const error = await failure({ ...RUN, cronJob: "gone" });
    expect(error.message).to.contain(
      "the CronJob ns/gone that the restore of backup latest runs from does not exist",
    );
    expect(error.message).to.contain("pulumi up --refresh");
  });
});

describe("a pod run to its end, and the image check made of it (stand-in API)", () => {
  const start = standInPerTest();
  const CHECK = { namespace: "ns", releaseName: "postgres", image: "postgres:17.6", timeoutSeconds: 3 };
  const LIMITS = { pollMs: 20 };
  const refusal = () =>
    checkImageStarts(CHECK, LIMITS).then(
      () => expect.fail("the image check was expected to fail"),
      (error: Error) => error.message,
    );

  it("runs postgres --version through the image's entrypoint, like the chart's pod, and deletes the pod", async () => {
    const { seen } = await start({
      endsAfterPolls: 1,
      condition: "Complete",
      log: "postgres (PostgreSQL) 17.6 (Debian 17.6-1)\n",
    });
    expect(await checkImageStarts(CHECK, LIMITS)).to.equal("postgres (PostgreSQL) 17.6 (Debian 17.6-1)");
    const spec = seen.created?.spec as {
      restartPolicy: string;
      activeDeadlineSeconds: number;
      securityContext: unknown;
      containers: { image: string; args: string[]; command?: string[]; securityContext: unknown }[];
    };
    expect(spec.containers[0]).to.deep.include({ image: "postgres:17.6", args: ["postgres", "--version"] });
    expect(spec.containers[0]?.command, "the image's own entrypoint runs").to.equal(undefined);
    expect(spec.securityContext).to.deep.equal(POD_SECURITY.pod);
    expect(spec.containers[0]?.securityContext).to.deep.equal(POD_SECURITY.container);
    expect(spec).to.include({ restartPolicy: "Never", activeDeadlineSeconds: 3 });
    expect(seen.deleted).to.equal(true);
  });

  it("reads the log again when the API cannot serve it at once, just after the container ended", async () => {
    const { seen } = await start({
      endsAfterPolls: 0,
      condition: "Complete",
      log: "postgres (PostgreSQL) 17.6\n",
      logMisses: 2,
    });
    expect(await checkImageStarts(CHECK, LIMITS)).to.equal("postgres (PostgreSQL) 17.6");
    expect(seen.logReads).to.equal(3);
  });

  it("takes an image whose container ran and exited 0 as starting, when its log cannot be read at all", async () => {
    await start({ endsAfterPolls: 0, condition: "Complete", log: "", logMisses: 99 });
    expect(await checkImageStarts(CHECK, LIMITS)).to.equal("an unknown version (no log)");
  });

  it("an image that cannot be pulled is refused at the first look, in one line naming the image and the reason", async () => {
    const { seen } = await start({ waiting: "ErrImagePull", log: "" });
    const message = await refusal();
    expect(message).to.contain("the check of image postgres:17.6 (pod ns/postgres-image-check-");
    expect(message).to.contain("cannot start: container postgres: ErrImagePull (no such image)");
    expect(seen.polls).to.equal(1);
    expect(seen.deleted).to.equal(true);
  });

  it("a container that exits is refused with its status and the log line that says why", async () => {
    await start({ endsAfterPolls: 0, condition: "Failed", log: "starting\nFATAL: broken on purpose\n" });
    expect(await refusal()).to.match(/exited with status 3 \(Error\): FATAL: broken on purpose$/);
  });

  it("an image whose server is of another major than its tag says is refused", async () => {
    await start({ endsAfterPolls: 0, condition: "Complete", log: "postgres (PostgreSQL) 18.1\n" });
    expect(await refusal()).to.equal(
      "image postgres:17.6 runs postgres (PostgreSQL) 18.1, but its tag says PostgreSQL 17",
    );
  });

  it("a pod that never ends is stopped at its bound", async () => {
    const { seen } = await start({ log: "" });
    expect(await refusal()).to.match(/did not end within \d+s \(Pending\)/);
    expect(seen.deleted).to.equal(true);
  });
});
