import { expect } from "chai";
import { connectWithRetry, describeTarget, isTransient } from "../../loader/connect";
import { freePort, startEmbeddedPostgres } from "../../loader/embedded";
import type { SalesDbError } from "../../loader/errors";
import { loadSales } from "../../loader/load";
import { loadRules } from "../../loader/rules";
import { SAMPLE_CSV, SAMPLE_RULES } from "../support/files";
import { testServerUrl } from "../support/postgres";

describe("connect", () => {
  it("waits for a server that only comes up after a few seconds, then loads", async function () {
    this.timeout(60_000);
    const port = await freePort();
    const url = `postgres://postgres:late-pw@127.0.0.1:${port}/postgres`;
    const started = Date.now();
    const late = new Promise((resolve) => setTimeout(resolve, 2_500)).then(() =>
      startEmbeddedPostgres({ port, password: "late-pw" }),
    );
    try {
      const report = await loadSales({
        connectionString: url,
        file: SAMPLE_CSV,
        rules: await loadRules(SAMPLE_RULES),
      });
      expect(report.loaded).to.equal(3);
      expect(Date.now() - started).to.be.greaterThan(2_500);
    } finally {
      await (await late).stop();
    }
  });

  it("gives up after the wait timeout with where and what it saw", async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await connectWithRetry({
      connectionString: `postgres://u:p@127.0.0.1:${port}/x`,
      waitTimeoutMs: 800,
    }).catch((e: unknown) => e);
    expect((error as SalesDbError).code).to.equal("db_unreachable");
    expect((error as SalesDbError).message).to.match(
      new RegExp(
        `^could not connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/x within 0\\.\\ds \\(\\d+ attempts\\); last error: ECONNREFUSED$`,
      ),
    );
    expect(Date.now() - started).to.be.lessThan(3_000);
  });

  it("treats 'starting up' and refusals as transient, bad passwords as final", () => {
    expect(isTransient({ code: "57P03" })).to.equal(true);
    expect(isTransient({ code: "ECONNREFUSED" })).to.equal(true);
    expect(isTransient({ code: "28P01" })).to.equal(false);
    expect(isTransient(new Error("Connection terminated unexpectedly"))).to.equal(true);
  });

  it("describes a target without its password", () => {
    expect(describeTarget("postgres://app:hunter2@db.example:6543/sales")).to.equal("db.example:6543/sales");
  });

  it("connects straight away to a running server", async () => {
    const client = await connectWithRetry({ connectionString: testServerUrl() });
    try {
      expect((await client.query("SELECT 1 AS one")).rows).to.deep.equal([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });
});
