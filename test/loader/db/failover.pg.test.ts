import { expect } from "chai";
import { rejectsWith } from "../../support/errors";
import { csv, SAMPLE_CSV } from "../../support/files";
import { loadFixture } from "../../support/loading";

describe("load: a server that became a replica (a failover; real PostgreSQL)", () => {
  const t = loadFixture();

  it("fails in one line that says the server is read-only now and to load again, keeping the old rows", async () => {
    await t.load(SAMPLE_CSV);
    const before = await t.rows();
    // New sessions are read-only, as every session on a demoted primary is (SQLSTATE 25006 on a write).
    await t.db.query(`ALTER DATABASE ${t.db.name} SET default_transaction_read_only = on`);
    await rejectsWith(t.load(await t.files.write("new.csv", csv("Halal Monitor,199.99,1"))), {
      code: "db_error",
      message:
        /^loading sales failed: the server is read-only now \(a replica: the primary failed over or switched over during the load\) \(.*\); nothing written: load again, into the new primary$/,
    });
    expect(await t.rows()).to.deep.equal(before);
  });
});
