import { expect } from "chai";
import { dropSales, inspectTable, loadSales } from "../../../loader/db/load";
import { rejectsWith } from "../../support/errors";
import { csv, SAMPLE_CSV, validRows } from "../../support/files";
import { loadFixture } from "../../support/loading";

describe("load (real PostgreSQL)", () => {
  const t = loadFixture();

  it("creates the sales table with the spec's exact schema", async () => {
    await t.load(SAMPLE_CSV);
    const columns = await t.db.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'sales' ORDER BY ordinal_position`,
    );
    expect(columns).to.deep.equal([
      { column_name: "product", data_type: "text" },
      { column_name: "price", data_type: "real" },
      { column_name: "quantity", data_type: "integer" },
    ]);
  });

  it("loads exactly the 3 valid sample rows with their values intact", async () => {
    const report = await t.load(SAMPLE_CSV);
    expect(report).to.include({ valid: 3, rejected: 3, loaded: 3, changed: true, table: "sales" });
    expect(await t.rows()).to.deep.equal([
      { product: "Halal Keyboard", price: 49.99, quantity: 5 },
      { product: "Halal Laptop", price: 999.99, quantity: 2 },
      { product: "Halal Mouse", price: 24.99, quantity: 10 },
    ]);
  });

  it("loads the same rows, bit for bit, in COPY binary (the default) and in COPY text, with the same sha256", async () => {
    const file = await t.files.write(
      "formats.csv",
      csv(
        "Halal A,0.1,1",
        '"Halal B, tab\there",-0.00,2',
        "Halal C,16777217.000000001,3",
        "Halal D, 024.50 ,4",
      ),
    );
    const rows = () =>
      t.db.query("SELECT product, float4send(price) AS price, quantity FROM sales ORDER BY product");
    const rules = { ...t.rules, minPrice: -1, maxDecimals: 9 };
    const binary = await t.load(file, { rules });
    const stored = await rows();
    await t.db.query("DELETE FROM sales"); // a hand edit: the next load must COPY again
    const text = await t.load(file, { rules, copyFormat: "text" });
    expect([binary.copyFormat, text.copyFormat]).to.deep.equal(["binary", "text"]);
    expect(text.sha256).to.equal(binary.sha256);
    expect(await rows())
      .to.deep.equal(stored)
      .and.to.have.length(4);
  });

  it("stores as many rows as the encoder counted valid (the COPY row-count check passes on a real load)", async () => {
    const file = await t.files.write("count.csv", `${validRows(2_500)}Bad,1,1\n`);
    expect(await t.load(file)).to.include({ valid: 2_500, rejected: 1, loaded: 2_500 });
    expect(await t.db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 2_500 }]);
  });

  it("upgrades a bookkeeping table of an earlier version: its row_count column (the count is in summary) goes", async () => {
    await t.db.query(
      `CREATE TABLE sales_db_seeds (table_name text PRIMARY KEY, sha256 text NOT NULL, columns text NOT NULL,
         row_count bigint NOT NULL, owner text, loaded_at timestamptz NOT NULL)`,
    );
    expect(await t.load(SAMPLE_CSV)).to.include({ valid: 3, loaded: 3 });
    const columns = await t.db.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'sales_db_seeds'`,
    );
    expect(columns.map((column) => column.name))
      .to.include("summary")
      .and.not.to.include("row_count");
    expect(await t.load(SAMPLE_CSV)).to.include({ loaded: 0, changed: false });
  });

  it("writes nothing when the same data is loaded again: same row versions, same table", async () => {
    await t.load(SAMPLE_CSV);
    const versions = () => t.db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid");
    const oid = () => t.db.query("SELECT 'sales'::regclass::oid AS oid");
    const [rowsBefore, oidBefore] = [await versions(), await oid()];
    expect(await t.load(SAMPLE_CSV)).to.include({ loaded: 0, changed: false, valid: 3 });
    expect(await versions()).to.deep.equal(rowsBefore);
    expect(await oid()).to.deep.equal(oidBefore);
  });

  it("reloads a table that lost rows even though the recorded hash matches", async () => {
    await t.load(SAMPLE_CSV);
    await t.db.query("TRUNCATE sales");
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
    expect(await t.rows()).to.have.length(3);
  });

  it("fails the rejected-share gate at write time, keeping the old rows", async () => {
    await t.load(SAMPLE_CSV);
    const worse = await t.files.write("worse.csv", csv("Halal A,10,1", "Bad,1,1", "Bad,1,1"));
    await rejectsWith(t.load(worse, { maxRejectedShare: 0.5 }), { code: "gate" });
    expect(await t.rows()).to.have.length(3);
  });

  it("replaces the table when the data changes, never appending", async () => {
    await t.load(SAMPLE_CSV);
    const changed = await t.files.write("changed.csv", csv("Halal Tea,12.50,4", "Halal Laptop,999.99,2"));
    expect(await t.load(changed)).to.include({ loaded: 2, changed: true });
    expect(await t.rows()).to.deep.equal([
      { product: "Halal Laptop", price: 999.99, quantity: 2 },
      { product: "Halal Tea", price: 12.5, quantity: 4 },
    ]);
  });

  it("reloads when only the column types change, even though the rows hash the same", async () => {
    await t.load(SAMPLE_CSV);
    const numeric = { ...t.rules, columnTypes: { ...t.rules.columnTypes, price: "NUMERIC" } };
    expect(await t.load(SAMPLE_CSV, { rules: numeric })).to.include({ changed: true });
    const [type] = await t.db.query<{ data_type: string }>(
      "SELECT data_type FROM information_schema.columns WHERE table_name = 'sales' AND column_name = 'price'",
    );
    expect(type?.data_type).to.equal("numeric");
  });

  it("keeps the previous rows, and no staging table, when the last line of a 2,000-row file is structurally bad", async () => {
    await t.load(SAMPLE_CSV);
    const bad = await t.files.write("bad.csv", `${validRows(1_999)}"Halal Broken,10,1\n`);
    await rejectsWith(t.load(bad), { code: "csv_unclosed_quote", line: 2_001 });
    expect(await t.rows()).to.have.length(3);
    expect(
      await t.db.query("SELECT relname FROM pg_class WHERE relname LIKE 'sales_db_staging_%'"),
    ).to.deep.equal([]);
  });

  it("loads into a schema-qualified table and reports it", async () => {
    await t.db.query("CREATE SCHEMA analytics");
    const report = await t.load(SAMPLE_CSV, { table: "analytics.sales" });
    expect(report.table).to.equal("analytics.sales");
    expect(await t.db.query("SELECT count(*)::int AS n FROM analytics.sales")).to.deep.equal([{ n: 3 }]);
  });

  it("fails cleanly, keeping the rows, when a view depends on the table", async () => {
    await t.load(SAMPLE_CSV);
    await t.db.query("CREATE VIEW expensive AS SELECT * FROM sales WHERE price > 100");
    const changed = await t.files.write("view.csv", csv("Halal Tea,12.50,4"));
    await rejectsWith(t.load(changed), { code: "db_error", message: "other objects (views?) depend on it" });
    expect(await t.rows()).to.have.length(3);
  });

  it("inspectTable reports no table, then the loaded rows and their hash, then no table after dropSales", async () => {
    const absent = { exists: false, rowCount: 0, sha256: null, untouched: false };
    expect(await inspectTable({ connectionString: t.db.url })).to.deep.equal(absent);
    const report = await t.load(SAMPLE_CSV);
    expect(await inspectTable({ connectionString: t.db.url })).to.deep.equal({
      exists: true,
      rowCount: 3,
      sha256: report.sha256,
      untouched: true,
    });
    expect(await dropSales({ connectionString: t.db.url })).to.equal(true);
    expect(await inspectTable({ connectionString: t.db.url })).to.deep.equal(absent);
    expect(await t.db.query("SELECT * FROM sales_db_seeds")).to.deep.equal([]);
  });

  it("a drop scoped to an owner spares a table a newer owner has loaded since", async () => {
    await t.load(SAMPLE_CSV, { owner: "old" });
    expect(await t.load(SAMPLE_CSV, { owner: "new" })).to.include({ changed: false });
    expect(await dropSales({ connectionString: t.db.url, onlyIfOwner: "old" })).to.equal(false);
    expect(await t.rows()).to.have.length(3);
    expect(await dropSales({ connectionString: t.db.url, onlyIfOwner: "new" })).to.equal(true);
    expect(await t.db.query("SELECT to_regclass('sales') IS NULL AS gone")).to.deep.equal([{ gone: true }]);
  });

  it("names the CSV line of a row the database's encoding cannot store", async () => {
    const { db } = t;
    await db.query(
      `CREATE DATABASE "${db.name}_latin1" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
    );
    const url = db.url.replace(`/${db.name}`, `/${db.name}_latin1`);
    try {
      const file = await t.files.write("euro.csv", csv("Halal Café,10,1", "Bad,1,1", "Halal Euro €,10,1"));
      await rejectsWith(loadSales({ connectionString: url, file, rules: t.rules }), {
        code: "db_error",
        line: 4,
        message: /euro\.csv:4: the database refused this row: .*LATIN1.*; nothing written$/,
      });
    } finally {
      await db.query(`DROP DATABASE "${db.name}_latin1" WITH (FORCE)`);
    }
  });
});
