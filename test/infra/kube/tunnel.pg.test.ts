import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import { Client } from "pg";
import { withDatabase } from "../../../infra/database/connect";
import type { SeedInputs } from "../../../infra/seed/types";
import { describeKubeError } from "../../../infra/kube/api";
import { TUNNEL_LIMITS, type TunnelLimits } from "../../../infra/kube/target";
import { openPortForward } from "../../../infra/kube/tunnel";
import { freePort } from "../../../loader/embedded/server";
import { loadSales } from "../../../loader/db/load";
import { loadRules } from "../../../loader/rules/rules-file";
import { scratch, validRows } from "../../support/files";
import { loaderSessions } from "../../support/loading";
import { startFakeKubeApi, type FakeKubeApi } from "../../support/stand-ins/kube-api";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { setEnv } from "../../support/env";
import { waitFor } from "../../support/wait";

/** Short bounds, so that every failure shows within a test's time; the defaults are 10 s, 5 s and 20 s. */
// Upper bounds on a failure's time sit far from what a correct tunnel takes and far below what the defect they
// guard against would take (a 60 s wait, a 30 s query): a machine ten times slower passes, the defect does not.
const FAR_BELOW_THE_WAIT = 30;
const LIMITS: TunnelLimits = { requestMs: 1_000, podReadyMs: 2_000, heartbeatMs: 100, silenceMs: 1_000 };
const TARGET = { namespace: "sales-db-test", pod: "postgres-0", port: 5432 };

/** The seed's view of the test database, reached through a port-forward to TARGET. */
function seedThroughApi(db: TestDatabase, waitTimeoutSeconds = 5) {
  const url = new URL(db.url);
  const seed: Pick<SeedInputs, "target" | "database" | "user" | "waitTimeoutSeconds"> = {
    target: { mode: "port-forward", ...TARGET, secretName: "postgres-auth", secretKey: "postgres-password" },
    database: db.name,
    user: decodeURIComponent(url.username),
    waitTimeoutSeconds,
  };
  return { seed, password: decodeURIComponent(url.password) };
}

async function failureOf(promise: Promise<unknown>): Promise<{ error: Error; seconds: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => new Error("expected a failure"),
    (e: Error) => e,
  );
  return { error, seconds: (Date.now() - started) / 1000 };
}

/** PostgreSQL rolled the cut load back: no session of sales-db is left, and the table holds its 3 old rows. */
async function expectRolledBack(db: TestDatabase): Promise<void> {
  await waitFor(async () => (await loaderSessions(db)) === 0, 10_000);
  expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
}

describe("tunnel through the Kubernetes API (stand-in API, real PostgreSQL)", () => {
  let db: TestDatabase;
  let api: FakeKubeApi;
  let restoreKubeconfig: () => void;
  beforeEach(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    api = await startFakeKubeApi({ host: url.hostname, port: Number(url.port) });
    restoreKubeconfig = setEnv("KUBECONFIG", api.kubeconfig);
  });
  afterEach(async () => {
    restoreKubeconfig();
    await api.close();
    await db.drop();
  });

  it("forwards a connection to the pod's database", async () => {
    const { seed, password } = seedThroughApi(db);
    const rows = await withDatabase(seed, password, async ({ connectionString }) => {
      const client = new Client({ connectionString });
      await client.connect();
      try {
        return (await client.query<{ n: number }>("SELECT 1 AS n")).rows;
      } finally {
        await client.end();
      }
    });
    expect(rows).to.deep.equal([{ n: 1 }]);
  });

  it("sends its frames unmasked over TLS, where no proxy reads them, and masked over plain HTTP", async () => {
    const { seed, password } = seedThroughApi(db);
    const rulesFile = await loadRules("data/config.yaml");
    const dir = await scratch();
    const secure = await startFakeKubeApi(
      { host: new URL(db.url).hostname, port: Number(new URL(db.url).port) },
      { tls: true },
    );
    try {
      const csv = await dir.write("sales.csv", validRows(2_000));
      const loadThrough = async (kubeconfig: string, table: string) => {
        process.env.KUBECONFIG = kubeconfig;
        return withDatabase(seed, password, (connection) =>
          loadSales({ ...connection, file: csv, rules: rulesFile, table }),
        );
      };
      const overTls = await loadThrough(secure.kubeconfig, "sales_tls");
      const plain = await loadThrough(api.kubeconfig, "sales_plain");
      expect([overTls.loaded, plain.loaded]).to.deep.equal([2_000, 2_000]);
      expect(overTls.sha256).to.equal(plain.sha256);
      expect(secure.firstFrameMasks.length).to.be.greaterThan(0);
      for (const mask of secure.firstFrameMasks) expect([...mask]).to.deep.equal([0, 0, 0, 0]);
      expect(api.firstFrameMasks.length).to.be.greaterThan(0);
      for (const mask of api.firstFrameMasks) expect(mask.readUInt32BE(0)).to.not.equal(0);
    } finally {
      await secure.close();
      await dir.cleanup();
    }
  });

  it("an API that refuses the connection fails at once, quoting the API's error", async () => {
    const closedPort = await freePort();
    const kubeconfig = await readFile(api.kubeconfig, "utf8");
    await writeFile(api.kubeconfig, kubeconfig.replace(/:\d+'/, `:${closedPort}'`));
    const { error, seconds } = await failureOf(
      openPortForward(TARGET, { ...TUNNEL_LIMITS, podReadyMs: 60_000 }),
    );
    expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
    expect(error.message).to.contain(`the Kubernetes API at http://127.0.0.1:${closedPort}`);
    expect(error.message).to.contain(`ECONNREFUSED 127.0.0.1:${closedPort}`);
    expect(error.message).to.not.contain("[object Object]");
    expect(error.message).to.not.contain("PostgreSQL");
  });

  it("an API that refuses the credentials fails at once with its status and message", async () => {
    api.refuseWith = 401;
    const { error, seconds } = await failureOf(
      openPortForward(TARGET, { ...TUNNEL_LIMITS, podReadyMs: 60_000 }),
    );
    expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
    expect(error.message).to.contain("HTTP 401: Unauthorized");
    expect(error.message).to.contain("check the credentials of kubeconfig context fake");
  });

  it("an API that takes the request and never answers fails after one request's bound", async () => {
    api.hang = true;
    const { error, seconds } = await failureOf(openPortForward(TARGET, { ...LIMITS, podReadyMs: 60_000 }));
    expect(seconds).to.be.within(0.9, FAR_BELOW_THE_WAIT);
    expect(error.message).to.match(
      /^the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ did not answer within 1s \(kubeconfig context fake\): check that the cluster is running$/,
    );
  });

  it("an API that forbids the port-forward fails within seconds, quoting the API, not after the wait timeout", async () => {
    api.refusePortForwardWith = 403;
    const { seed, password } = seedThroughApi(db, 60);
    const rules = await loadRules("data/config.yaml");
    const { error, seconds } = await failureOf(
      withDatabase(
        seed,
        password,
        (connection) => loadSales({ ...connection, file: "data/sales.csv", rules }),
        LIMITS,
      ),
    );
    expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
    expect(error.message).to.match(
      /^the port-forward to pod sales-db-test\/postgres-0 through the Kubernetes API at \S+ was refused \(HTTP 403: fake refusal 403\)/,
    );
  });

  it("a pod that is not Ready is waited for, then named with its state", async () => {
    api.pod = { phase: "Pending", ready: false };
    const { error, seconds } = await failureOf(openPortForward(TARGET, LIMITS));
    expect(seconds).to.be.within(1.5, FAR_BELOW_THE_WAIT);
    expect(error.message).to.equal(
      "pod sales-db-test/postgres-0 is not Ready after 2s (phase Pending): " +
        "see kubectl -n sales-db-test describe pod postgres-0",
    );
  });

  for (const [gone, setUp, reason] of [
    [
      "namespace",
      (fake: FakeKubeApi) => (fake.namespaceExists = false),
      "its namespace sales-db-test does not exist",
    ],
    [
      "StatefulSet",
      (fake: FakeKubeApi) => (fake.statefulSets = []),
      "no StatefulSet in namespace sales-db-test owns it",
    ],
  ] as const) {
    it(`a pod whose ${gone} was deleted behind Pulumi's back fails at once, saying what is gone and what recreates it`, async () => {
      api.pod = undefined;
      setUp(api);
      // A wait far longer than this test's own timeout: only failing at once passes.
      const { error } = await failureOf(openPortForward(TARGET, { ...LIMITS, podReadyMs: 10 * 60_000 }));
      expect(error.message).to.equal(
        `pod sales-db-test/postgres-0 does not exist and nothing will create it: ${reason} (deleted outside ` +
          "Pulumi?): run pulumi up --refresh, which finds what is gone and recreates it",
      );
    });
  }

  it("a missing pod that its StatefulSet will create is waited for, then reached", async () => {
    api.pod = undefined;
    setTimeout(() => (api.pod = { phase: "Running", ready: true }), 600);
    const tunnel = await openPortForward(TARGET, LIMITS);
    await tunnel.close();
  });

  it("closes the local connection when the API drops the forward, so the client never waits on a dead stream", async () => {
    const tunnel = await openPortForward(TARGET, LIMITS);
    try {
      const url = new URL(db.url);
      const client = new Client({
        host: tunnel.host,
        port: tunnel.port,
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: db.name,
      });
      client.on("error", () => undefined);
      await client.connect();
      api.dropAll();
      const { error, seconds } = await failureOf(client.query("SELECT pg_sleep(30)"));
      expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
      expect(error.message).to.match(/Connection terminated/);
    } finally {
      await tunnel.close();
    }
  });

  for (const gone of ["deleted", "replaced by a new pod of its name"] as const) {
    it(`a pod ${gone} while the server is silent ends the connection within seconds, though the API still answers`, async () => {
      api.pod = { phase: "Running", ready: true, uid: "first" };
      const { seed, password } = seedThroughApi(db);
      const waiting = withDatabase(
        seed,
        password,
        async ({ connectionString }) => {
          const client = new Client({ connectionString });
          client.on("error", () => undefined);
          await client.connect();
          try {
            const query = client.query("SELECT pg_sleep(30)");
            // The kubelet keeps this forward open (as one did for a pod deleted with --grace-period=1): only the
            // pod's absence, or its new UID, tells.
            api.pod = gone === "deleted" ? undefined : { phase: "Running", ready: true, uid: "second" };
            await query;
          } finally {
            await client.end().catch(() => undefined);
          }
        },
        LIMITS,
      );
      const { error, seconds } = await failureOf(waiting);
      expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
      expect(error.message).to.match(
        gone === "deleted"
          ? /port-forward to pod sales-db-test\/postgres-0 .* lost its pod: postgres-0 no longer exists; PostgreSQL rolls back/
          : /lost its pod: postgres-0 was replaced by a new pod of that name/,
      );
    });
  }

  for (const answersPings of [true, false]) {
    it(`a frozen API during a load fails within the bound, leaves no backend, and keeps the old rows (${answersPings ? "an API that answers pings" : "one that does not: the bytes it stops taking tell"})`, async function () {
      this.timeout(90_000);
      if (!answersPings) {
        await api.close();
        const url = new URL(db.url);
        api = await startFakeKubeApi({ host: url.hostname, port: Number(url.port) }, { answersPings });
        process.env.KUBECONFIG = api.kubeconfig;
      }
      const files = await scratch();
      try {
        const rules = await loadRules("data/config.yaml");
        const small = await files.write("small.csv", validRows(3));
        await loadSales({ connectionString: db.url, file: small, rules });
        // Far more than the loopback's socket buffers hold (several MB each way): the API stops taking bytes
        // while the COPY still has some to send, however the kernel sized its buffers on a busy machine.
        const large = await files.write("large.csv", validRows(2_000_000));
        api.freezeAfterBytes = 1 << 20;
        const { seed, password } = seedThroughApi(db);
        const { error, seconds } = await failureOf(
          withDatabase(
            seed,
            password,
            (connection) => loadSales({ ...connection, file: large, rules }),
            LIMITS,
          ),
        );
        expect(error.message).to.match(
          /^the port-forward to pod sales-db-test\/postgres-0 through the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ stopped answering: no reply to pings and no bytes moved for \d+s/,
        );
        expect(error.message).to.contain(
          "the table keeps its old rows: run pulumi up again once the cluster answers",
        );
        // Without the bound, the load would wait on the frozen API until the test's own timeout.
        expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
        // The API comes back (here: goes away for good), its connections close, and PostgreSQL rolls back.
        await api.close();
        await expectRolledBack(db);
      } finally {
        await files.cleanup();
      }
    });
  }

  it("a pod that dies while the tunnel holds back a load's bytes fails the load within seconds and keeps the old rows", async function () {
    this.timeout(90_000);
    const files = await scratch();
    try {
      const rules = await loadRules("data/config.yaml");
      await loadSales({
        connectionString: db.url,
        file: await files.write("small.csv", validRows(3)),
        rules,
      });
      // The dying pod stops taking bytes before its forward closes: the tunnel has paused its local side with
      // the client's bytes unread, which a half-close would leave waiting forever.
      const large = await files.write("large.csv", validRows(2_000_000));
      api.dieAfterBytes = 1 << 20;
      const { seed, password } = seedThroughApi(db);
      const { error, seconds } = await failureOf(
        // A silence bound longer than the stall: the forward's close, not the heartbeat, must end the load.
        withDatabase(seed, password, (connection) => loadSales({ ...connection, file: large, rules }), {
          ...LIMITS,
          silenceMs: 10_000,
        }),
      );
      expect(seconds).to.be.lessThan(FAR_BELOW_THE_WAIT);
      expect(error.message).to.match(
        /^loading sales failed: the connection to the server was lost \(Connection terminated unexpectedly\); nothing written: .*the port-forward said: the connection to the Kubernetes API dropped\)$/,
      );
      await expectRolledBack(db);
    } finally {
      await files.cleanup();
    }
  });

  it("a password the database refuses names the pod and the fix, never the tunnel's port", async () => {
    const { seed } = seedThroughApi(db);
    const rules = await loadRules("data/config.yaml");
    const { error } = await failureOf(
      withDatabase(seed, "wrong-password", (connection) =>
        loadSales({ ...connection, file: "data/sales.csv", rules }),
      ),
    );
    expect(error.message).to.match(
      /^PostgreSQL in pod sales-db-test\/postgres-0 refused the password of user \w+/,
    );
    expect(error.message).to.contain("pulumi config set --secret dbPassword");
    expect(error.message).to.not.match(/127\.0\.0\.1:\d+/);
    expect(error.message).to.not.contain("wrong-password");
  });

  it("describes API errors of every shape in one line, never as [object Object]", () => {
    expect(
      describeKubeError({ code: 403, body: '{"kind":"Status","message":"pods is forbidden"}' }),
    ).to.equal("HTTP 403: pods is forbidden");
    expect(describeKubeError({ type: "error", message: "connect ECONNREFUSED 127.0.0.1:1" })).to.equal(
      "connect ECONNREFUSED 127.0.0.1:1",
    );
    expect(describeKubeError({ error: new Error("getaddrinfo ENOTFOUND api\nstack") })).to.equal(
      "getaddrinfo ENOTFOUND api",
    );
    expect(describeKubeError({ some: "object" })).to.equal('{"some":"object"}');
  });
});
