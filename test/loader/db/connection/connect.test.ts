import { expect } from "chai";
import { createServer, type AddressInfo } from "node:net";
import { connectWithRetry, isTransient } from "../../../../loader/db/connection/connect";
import { freePort } from "../../../../loader/embedded/server";
import { rejectsWith } from "../../../support/errors";

describe("connect, without a server", () => {
  it("treats 'starting up' and refusals as transient, bad passwords as final", () => {
    expect(isTransient({ code: "57P03" })).to.equal(true);
    expect(isTransient({ code: "ECONNREFUSED" })).to.equal(true);
    expect(isTransient({ code: "28P01" })).to.equal(false);
    expect(isTransient(new Error("Connection terminated unexpectedly"))).to.equal(true);
  });

  it("gives up on a closed port after the wait timeout, saying where it tried and what it saw", async () => {
    const port = await freePort();
    const error = await rejectsWith(
      connectWithRetry({ connectionString: `postgres://u:p@127.0.0.1:${port}/x`, waitTimeoutMs: 400 }),
      {
        code: "db_unreachable",
        message: new RegExp(
          `^could not connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/x within \\d+\\.\\ds \\(\\d+ attempts\\); last error: ECONNREFUSED(, then no answer in the time left)?$`,
        ),
      },
    );
    // It retried until the timeout (no upper bound: a slow machine only makes it later; a hang fails the test).
    const [, seconds, attempts] = /within ([\d.]+)s \((\d+) attempts\)/.exec(error.message)!;
    expect(Number(seconds)).to.be.at.least(0.4);
    expect(Number(attempts)).to.be.at.least(2);
  });

  it("names the last real answer, not an attempt the deadline cut short", async () => {
    const port = await freePort();
    // Refused at first; then a server that takes connections and never answers, so that every later attempt
    // runs out of the time left (under the 5 s connect timeout).
    const silent = createServer(() => undefined);
    const opened = new Promise((resolve) => setTimeout(resolve, 300)).then(
      () => new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve)),
    );
    try {
      await rejectsWith(
        connectWithRetry({ connectionString: `postgres://u:p@127.0.0.1:${port}/x`, waitTimeoutMs: 3_000 }),
        { code: "db_unreachable", message: /; last error: ECONNREFUSED, then no answer in the time left$/ },
      );
    } finally {
      await opened;
      silent.close();
    }
  });

  it("honours the wait timeout against a server that accepts and never answers", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      await rejectsWith(
        connectWithRetry({
          connectionString: `postgres://u:p@127.0.0.1:${port}/x`,
          waitTimeoutMs: 600,
          connectTimeoutMs: 60_000,
        }),
        { code: "db_unreachable" },
      );
      // Each attempt is cut to the time left: not one 60 s connect timeout past the deadline. The upper bound is
      // that timeout's half, so that only the defect, not a slow machine, can reach it.
      expect(Date.now() - started).to.be.within(600, 30_000);
    } finally {
      silent.close();
    }
  });
});
