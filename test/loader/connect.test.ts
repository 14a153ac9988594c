import { expect } from "chai";
import { createServer, type AddressInfo } from "node:net";
import { connectWithRetry, isTransient } from "../../loader/connect";
import { freePort } from "../../loader/embedded";
import { rejectsWith } from "../support/errors";

describe("connect, without a server", () => {
  it("treats 'starting up' and refusals as transient, bad passwords as final", () => {
    expect(isTransient({ code: "57P03" })).to.equal(true);
    expect(isTransient({ code: "ECONNREFUSED" })).to.equal(true);
    expect(isTransient({ code: "28P01" })).to.equal(false);
    expect(isTransient(new Error("Connection terminated unexpectedly"))).to.equal(true);
  });

  it("gives up on a closed port after the wait timeout, saying where it tried and what it saw", async () => {
    const port = await freePort();
    const started = Date.now();
    await rejectsWith(
      connectWithRetry({ connectionString: `postgres://u:p@127.0.0.1:${port}/x`, waitTimeoutMs: 400 }),
      {
        code: "db_unreachable",
        message: new RegExp(
          `^could not connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/x within 0\\.\\ds \\(\\d+ attempts\\); last error: ECONNREFUSED$`,
        ),
      },
    );
    expect(Date.now() - started).to.be.lessThan(3_000);
  });

  it("honours the wait timeout against a server that accepts and never answers", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      await rejectsWith(
        connectWithRetry({ connectionString: `postgres://u:p@127.0.0.1:${port}/x`, waitTimeoutMs: 600 }),
        { code: "db_unreachable" },
      );
      // Each attempt is cut to the time left: not one 5 s connect timeout past the deadline.
      expect(Date.now() - started).to.be.within(550, 1_600);
    } finally {
      silent.close();
    }
  });
});
