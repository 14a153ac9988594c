import { expect } from "chai";
import { createServer, type AddressInfo } from "node:net";
import { connectWithRetry, isTransient } from "../../loader/connect";
import { describeTarget, parseConnectionString, redact, secretsOf } from "../../loader/connection-string";
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

  it("honours the wait timeout against a server that accepts and never answers", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      const error = await connectWithRetry({
        connectionString: `postgres://u:p@127.0.0.1:${port}/x`,
        waitTimeoutMs: 1_500,
      }).catch((e: unknown) => e);
      expect((error as SalesDbError).code).to.equal("db_unreachable");
      // Each attempt is cut to the time left: not one 5 s connect timeout past the deadline.
      expect(Date.now() - started).to.be.within(1_400, 2_500);
    } finally {
      silent.close();
    }
  });

  it("reads libpq's key=value form, quotes and escapes included, and the URL forms", () => {
    expect(parseConnectionString("host=db port=6543 dbname=sales user=app password='it\\'s x'")).to.include({
      host: "db",
      port: 6543,
      database: "sales",
      user: "app",
    });
    expect(parseConnectionString("password = 'a b\\'c' host=h").password).to.equal("a b'c");
    expect(parseConnectionString("  postgresql://app:p%40ss@db:6543/sales  ")).to.include({
      host: "db",
      port: 6543,
      database: "sales",
      password: "p@ss",
    });
    expect(parseConnectionString("postgres://app@db/sales?sslmode=require").ssl).to.deep.equal({
      rejectUnauthorized: false,
    });
    expect(parseConnectionString("host=db sslmode=disable").ssl).to.equal(false);
  });

  it("refuses what is neither form, without quoting it", () => {
    for (const text of [
      "",
      "   ",
      "postgress://u:hunter22@h/db",
      "hunter22",
      "host=h bogus=hunter22",
      "host=h port=x",
    ]) {
      const error = (() => {
        try {
          parseConnectionString(text);
        } catch (e) {
          return e as SalesDbError;
        }
        return null;
      })();
      expect(error?.code, text).to.equal("usage");
      expect(error?.message, text).to.not.contain("hunter22");
    }
  });

  it("finds the password to redact in malformed strings too", () => {
    for (const text of [
      "postgress://u:hunter22@h/db",
      "host=h password='hunter22",
      "host=h password=hunter22 bogus=1",
      "postgres://u:hunter%2022@[::1/db",
    ]) {
      const secrets = secretsOf(text, {});
      expect(redact(`echo ${text}`, secrets), text).to.not.match(/hunter(22|%2022| 22)/);
    }
  });
});
