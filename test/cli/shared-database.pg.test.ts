import { expect } from "chai";
import { cli, expectOneLineError, loadCsv, loadSample, salesCount } from "../support/cli";
import { csv, scratchFiles } from "../support/files";
import {
  createTestDatabase,
  standbyMissing,
  waitingForStandby,
  type TestDatabase,
} from "../support/postgres";

/** The command on a database it shares: what it says, and the status it exits with. */
describe("sales-db load on a shared, replicated or locked-down database (real PostgreSQL)", () => {
  const files = scratchFiles();
  let db: TestDatabase;
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("3: a COMMIT its synchronous standby does not confirm within --commit-timeout, with how to check", async function () {
    if (!(await standbyMissing(db))) this.skip();
    expect((await cli(loadSample(db.url))).code).to.equal(0);
    const changed = await files().write("changed.csv", csv("Halal Tea,12.50,4"));
    const run = await cli(loadCsv(changed, waitingForStandby(db.url), "--commit-timeout", "0.5"));
    expectOneLineError(
      run,
      3,
      /^sales-db: the load committed on this server, but its synchronous standby did not confirm it within 0\.5s .*; check with SELECT pg_xact_status\('\d+'\) \(committed or aborted\), or SELECT sha256, loaded_at FROM "public"\."sales_db_seeds" WHERE table_name = 'sales' \(sha256 [0-9a-f]{64} is this load's\)$/,
    );
    expect(run.stdout).to.equal("");
    expect(await salesCount(db)).to.equal(1);
  });
});
