import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { adoptRestored } from "../../../../loader/db/bookkeeping";
import { inspectTable } from "../../../../loader/db/load";
import { SAMPLE_CSV } from "../../../support/files";
import { loadFixture } from "../../../support/loading";
import type { TestDatabase } from "../../../support/postgres";

/**
 * What pg_restore --clean of a dump does to a loaded table and its bookkeeping (no pg_restore of the server's
 * version is at hand here; the e2e runs the real one): both are dropped and created again, rows copied back before
 * the triggers are made, so the table has a new oid and catalog stamp while its bookkeeping row is the dumped one.
 */
async function restoreAsPgRestoreDoes(db: TestDatabase): Promise<void> {
  await db.query(`BEGIN;
    CREATE TEMP TABLE dumped_rows AS SELECT * FROM sales;
    CREATE TEMP TABLE dumped_meta AS SELECT * FROM sales_db_seeds;
    DROP TABLE sales; DROP TABLE sales_db_seeds;
    CREATE TABLE sales (product TEXT, price REAL, quantity INTEGER);
    CREATE TABLE sales_db_seeds (LIKE dumped_meta INCLUDING DEFAULTS, PRIMARY KEY (table_name));
    INSERT INTO sales SELECT * FROM dumped_rows;
    INSERT INTO sales_db_seeds SELECT * FROM dumped_meta;
    CREATE TRIGGER sales_db_row_written BEFORE INSERT OR UPDATE OR DELETE ON sales
      FOR EACH ROW EXECUTE FUNCTION sales_db_mark_modified();
    CREATE TRIGGER sales_db_truncated AFTER TRUNCATE ON sales
      FOR EACH STATEMENT EXECUTE FUNCTION sales_db_mark_modified();
    ALTER TABLE sales ENABLE ALWAYS TRIGGER sales_db_row_written;
    ALTER TABLE sales ENABLE ALWAYS TRIGGER sales_db_truncated;
    COMMIT`);
}

describe("bookkeeping after a restore from a dump (real PostgreSQL)", () => {
  const t = loadFixture();
  const inspect = () => inspectTable({ connectionString: t.db.url, waitTimeoutMs: 10_000 });
  const adopt = async () => {
    const client = await t.db.connect("restore");
    try {
      return await adoptRestored(client);
    } finally {
      await client.end();
    }
  };

  it("a restored table is taken as foreign until the restore binds it; then a reload of its file writes nothing", async () => {
    await t.load(SAMPLE_CSV);
    const loaded = await t.rows();
    await restoreAsPgRestoreDoes(t.db);
    expect(await inspect()).to.include({ exists: true, untouched: false, sha256: null });
    const refused = await t.load(SAMPLE_CSV).catch((error: Error & { code?: string }) => error.code);
    expect(refused).to.equal("foreign_table");

    expect(await adopt()).to.deep.equal(["public.sales"]);
    expect(await inspect()).to.include({ exists: true, untouched: true, rowCount: loaded.length });
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: false, validated: false, loaded: 0 });
    expect(await t.rows()).to.deep.equal(loaded);
    expect(await adopt(), "a second call binds nothing").to.deep.equal([]);
  });

  it("keeps what the dumped bookkeeping says: a table written by hand before its backup is still seen as changed", async () => {
    await t.load(SAMPLE_CSV);
    const loaded = await t.rows();
    await t.db.query("UPDATE sales SET quantity = 99");
    await restoreAsPgRestoreDoes(t.db);
    expect(await adopt()).to.deep.equal(["public.sales"]);
    expect(await inspect()).to.include({ untouched: false });
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: true });
    expect(await t.rows()).to.deep.equal(loaded);
  });

  it("never binds a bookkeeping table or a table that another role owns", async () => {
    const role = `sales_db_other_${randomBytes(4).toString("hex")}`;
    await t.db.query(`CREATE ROLE "${role}"`);
    try {
      // Another role's planted bookkeeping, naming its own table and, in public, ours.
      await t.db.query(`CREATE SCHEMA planted AUTHORIZATION "${role}";
        SET ROLE "${role}";
        CREATE TABLE planted.theirs (product text);
        CREATE TABLE planted.sales_db_seeds (table_name text PRIMARY KEY, table_oid oid, stamp text);
        INSERT INTO planted.sales_db_seeds VALUES ('theirs', 0, 'x');
        RESET ROLE`);
      await t.load(SAMPLE_CSV);
      await restoreAsPgRestoreDoes(t.db);
      // Our bookkeeping names a table now owned by the other role: not bound either.
      await t.db.query(`ALTER TABLE sales OWNER TO "${role}"`);
      expect(await adopt()).to.deep.equal([]);
      const [planted] = await t.db.query<{ table_oid: string }>(
        "SELECT table_oid::text FROM planted.sales_db_seeds",
      );
      expect(planted?.table_oid).to.equal("0");
    } finally {
      await t.db.query(`DROP SCHEMA planted CASCADE; DROP TABLE IF EXISTS sales; DROP ROLE "${role}"`);
    }
  });
});
