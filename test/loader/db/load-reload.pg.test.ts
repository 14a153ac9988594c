import { expect } from "chai";
import { csv, SAMPLE_CSV } from "../../support/files";
import { loadFixture } from "../../support/loading";

describe("load: a reload of the same file (real PostgreSQL)", () => {
  const t = loadFixture();
  const rowVersions = () => t.db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid");

  const edits: Record<string, string> = {
    INSERT: "INSERT INTO sales VALUES ('Halal Extra', 1, 1)",
    UPDATE: "UPDATE sales SET price = 1 WHERE product = 'Halal Mouse'",
    DELETE: "DELETE FROM sales WHERE product = 'Halal Mouse'",
    "DELETE and INSERT back":
      "DELETE FROM sales WHERE product = 'Halal Mouse'; INSERT INTO sales VALUES ('Halal Mouse', 24.99, 10)",
    TRUNCATE: "TRUNCATE sales",
    "ALTER COLUMN TYPE": "ALTER TABLE sales ALTER COLUMN price TYPE numeric",
    "ADD COLUMN": "ALTER TABLE sales ADD COLUMN note text",
    "a write with the trigger disabled": `ALTER TABLE sales DISABLE TRIGGER ALL;
      UPDATE sales SET quantity = 99; ALTER TABLE sales ENABLE ALWAYS TRIGGER sales_db_row_written`,
    "a write as a replica": "SET session_replication_role = replica; UPDATE sales SET quantity = 99",
    "a dropped trigger": "DROP TRIGGER sales_db_row_written ON sales; UPDATE sales SET quantity = 98",
    "a trigger re-enabled ORIGIN only": `ALTER TABLE sales ENABLE TRIGGER sales_db_row_written;
      SET session_replication_role = replica; UPDATE sales SET quantity = 97`,
  };
  for (const [edit, sql] of Object.entries(edits)) {
    it(`after ${edit} by hand restores the file's rows and column types`, async () => {
      await t.load(SAMPLE_CSV);
      const original = await t.rows();
      await t.db.query(sql);
      expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
      expect(await t.rows()).to.deep.equal(original);
      const [type] = await t.db.query<{ data_type: string }>(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'sales' AND column_name = 'price'",
      );
      expect(type?.data_type).to.equal("real");
    });
  }

  it("into an untouched table reports the recorded counts and writes nothing, not even a staging table", async () => {
    await t.load(SAMPLE_CSV);
    const before = await rowVersions();
    // The next transaction id: a load that wrote anything (a staging table, a row) would have taken one.
    const nextXid = () => t.db.query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid");
    const xidBefore = await nextXid();
    const second = await t.load(SAMPLE_CSV);
    expect(second).to.include({ changed: false, loaded: 0, validated: false, valid: 3, rejected: 3 });
    expect(second.byRule).to.include({ product_prefix: 2 });
    expect(await nextXid()).to.deep.equal(xidBefore);
    expect(await rowVersions()).to.deep.equal(before);
  });

  it("with other bytes giving the same valid rows writes nothing, after validating them", async () => {
    await t.load(SAMPLE_CSV);
    const before = await rowVersions();
    const otherRejects = await t.files.write(
      "other-rejects.csv",
      csv("Halal Laptop,999.99,2", "Halal Mouse,24.99,10", "Halal Keyboard,49.99,5", "Bad,1,1"),
    );
    expect(await t.load(otherRejects)).to.include({
      validated: true,
      changed: false,
      loaded: 0,
      rejected: 1,
    });
    expect(await rowVersions()).to.deep.equal(before);
    // The bookkeeping now knows this file: the next reload skips validation.
    expect(await t.load(otherRejects)).to.include({ validated: false, changed: false, rejected: 1 });
  });

  it("with other rules validates again", async () => {
    await t.load(SAMPLE_CSV);
    const stricter = { ...t.rules, maxQuantity: 5 };
    expect(await t.load(SAMPLE_CSV, { rules: stricter })).to.include({
      validated: true,
      changed: true,
      valid: 2,
    });
  });
});
