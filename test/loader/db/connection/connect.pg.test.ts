import { expect } from "chai";
import { connectWithRetry } from "../../../../loader/db/connection/connect";
import { freePort, startEmbeddedPostgres } from "../../../../loader/embedded/server";
import { loadSales } from "../../../../loader/db/load";
import { loadRules } from "../../../../loader/rules/rules-file";
import { SAMPLE_CSV, SAMPLE_RULES } from "../../../support/files";
import { testServerUrl } from "../../../support/postgres";

describe("connect (real PostgreSQL)", () => {
  it("connects straight away to a running server", async () => {
    const client = await connectWithRetry({ connectionString: testServerUrl() });
    try {
      expect((await client.query("SELECT 1 AS one")).rows).to.deep.equal([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  // The one test of the retry loop against a server that starts late (the seed provider reaches it through here).
  it("waits for a server that only comes up after a few seconds, then loads", async function () {
    this.timeout(60_000);
    const port = await freePort();
    const started = Date.now();
    const late = new Promise((resolve) => setTimeout(resolve, 2_500)).then(() =>
      startEmbeddedPostgres({ port, password: "late-pw" }),
    );
    try {
      const report = await loadSales({
        connectionString: `postgres://postgres:late-pw@127.0.0.1:${port}/postgres`,
        file: SAMPLE_CSV,
        rules: await loadRules(SAMPLE_RULES),
      });
      expect(report.loaded).to.equal(3);
      expect(Date.now() - started).to.be.greaterThan(2_500);
    } finally {
      await (await late).stop();
    }
  });
});
