import { expect } from "chai";
import { SalesDbError } from "../../loader/errors";
import { dropSales, inspectSales, loadSales } from "../../loader/load";
import { loadRules, type RuleSet } from "../../loader/rules";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { SAMPLE_CSV, SAMPLE_RULES, scratch, validRows } from "../support/files";
import { waitFor } from "../support/wait";

type Row = { product: string; price: number; quantity: number };

describe("load (real PostgreSQL)", () => {
  let rules: RuleSet;
  let files: Awaited<ReturnType<typeof scratch>>;
  let db: TestDatabase;
  before(async () => {
    rules = await loadRules(SAMPLE_RULES);
    files = await scratch();
  });
  after(() => files.cleanup());
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  const load = (file: string, extra: Partial<Parameters<typeof loadSales>[0]> = {}) =>
    loadSales({ connectionString: db.url, file, rules, ...extra });
  const rows = () => db.query<Row>("SELECT product, price, quantity FROM sales ORDER BY product");

  it("creates the sales table with the spec's exact schema", async () => {
    await load(SAMPLE_CSV);
    const columns = await db.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'sales' ORDER BY ordinal_position`,
    );
    expect(columns).to.deep.equal([
      { column_name: "product", data_type: "text" },
      { column_name: "price", data_type: "real" },
      { column_name: "quantity", data_type: "integer" },
    ]);
  });

  it("loads exactly the 3 valid sample rows with their values intact", async () => {
    const report = await load(SAMPLE_CSV);
    expect(report).to.include({ valid: 3, rejected: 3, loaded: 3, changed: true, table: "sales" });
    expect(await rows()).to.deep.equal([
      { product: "Halal Keyboard", price: 49.99, quantity: 5 },
      { product: "Halal Laptop", price: 999.99, quantity: 2 },
      { product: "Halal Mouse", price: 24.99, quantity: 10 },
    ]);
  });

  it("writes nothing when the same data is loaded again", async () => {
    await load(SAMPLE_CSV);
    const before = await db.query<{ xmin: string; ctid: string }>(
      "SELECT xmin::text, ctid::text FROM sales ORDER BY ctid",
    );
    const oid = await db.query("SELECT 'sales'::regclass::oid AS oid");
    const second = await load(SAMPLE_CSV);
    expect(second).to.include({ loaded: 0, changed: false, valid: 3 });
    expect(await db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid")).to.deep.equal(before);
    expect(await db.query("SELECT 'sales'::regclass::oid AS oid")).to.deep.equal(oid);
  });

  it("reloads a table that lost rows even though the recorded hash matches", async () => {
    await load(SAMPLE_CSV);
    await db.query("TRUNCATE sales");
    expect(await load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
    expect(await rows()).to.have.length(3);
  });

  it("fails the rejected-share gate at write time, keeping the old rows", async () => {
    await load(SAMPLE_CSV);
    const worse = await files.write("worse.csv", "product,price,quantity\nHalal A,10,1\nBad,1,1\nBad,1,1\n");
    const error = await load(worse, { maxRejectedShare: 0.5 }).catch((e: unknown) => e);
    expect((error as SalesDbError).code).to.equal("gate");
    expect(await rows()).to.have.length(3);
  });

  it("a drop scoped to an owner spares a table a newer owner has loaded since", async () => {
    await load(SAMPLE_CSV, { owner: "old" });
    expect(await load(SAMPLE_CSV, { owner: "new" })).to.include({ changed: false });
    expect(await dropSales({ connectionString: db.url, onlyIfOwner: "old" })).to.equal(false);
    expect(await rows()).to.have.length(3);
    expect(await dropSales({ connectionString: db.url, onlyIfOwner: "new" })).to.equal(true);
    expect(await db.query("SELECT to_regclass('sales') IS NULL AS gone")).to.deep.equal([{ gone: true }]);
  });

  it("replaces the table when the data changes, never appending", async () => {
    await load(SAMPLE_CSV);
    const changed = await files.write(
      "changed.csv",
      "product,price,quantity\nHalal Tea,12.50,4\nHalal Laptop,999.99,2\n",
    );
    const report = await load(changed);
    expect(report).to.include({ loaded: 2, changed: true });
    expect(await rows()).to.deep.equal([
      { product: "Halal Laptop", price: 999.99, quantity: 2 },
      { product: "Halal Tea", price: 12.5, quantity: 4 },
    ]);
  });

  it("reloads when only the column types change, even though the rows hash the same", async () => {
    await load(SAMPLE_CSV);
    const numeric = { ...rules, columnTypes: { ...rules.columnTypes, price: "NUMERIC" } };
    expect(await load(SAMPLE_CSV, { rules: numeric })).to.include({ changed: true });
    const [type] = await db.query<{ data_type: string }>(
      "SELECT data_type FROM information_schema.columns WHERE table_name = 'sales' AND column_name = 'price'",
    );
    expect(type?.data_type).to.equal("numeric");
  });

  it("keeps the previous rows when the last line of a 2,000-row file is structurally bad", async () => {
    await load(SAMPLE_CSV);
    const bad = await files.write("bad.csv", `${validRows(1_999)}"Halal Broken,10,1\n`);
    const error = await load(bad).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SalesDbError);
    expect((error as SalesDbError).code).to.equal("csv_syntax");
    expect((error as SalesDbError).line).to.equal(2_001);
    expect(await rows()).to.have.length(3);
    const leftovers = await db.query("SELECT relname FROM pg_class WHERE relname = 'sales__loading'");
    expect(leftovers).to.deep.equal([]);
  });

  it("keeps the previous rows when the connection is killed mid-load", async () => {
    await load(SAMPLE_CSV);
    const big = await files.write("big.csv", validRows(300_000));
    const loading = load(big).catch((e: unknown) => e);
    await waitFor(async () => (await copyBackends(db)).length > 0);
    await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sales-db' AND datname = current_database()",
    );
    const error = await loading;
    expect(error).to.be.instanceOf(SalesDbError);
    expect(await rows()).to.have.length(3);
  });

  it("readers see the old rows or the new rows during a load, never an empty or partial table", async () => {
    await load(SAMPLE_CSV);
    const big = await files.write("readers.csv", validRows(200_000));
    let done = false;
    const counts = new Set<number>();
    const loading = load(big).finally(() => (done = true));
    while (!done) {
      const [row] = await db.query<{ n: string }>("SELECT count(*) AS n FROM sales");
      counts.add(Number(row?.n));
    }
    await loading;
    const [final] = await db.query<{ n: string }>("SELECT count(*) AS n FROM sales");
    counts.add(Number(final?.n));
    expect([...counts].sort((a, b) => a - b)).to.deep.equal([3, 200_000]);
  });

  it("serializes two concurrent loads and ends with exactly one file's rows", async () => {
    const a = await files.write("a.csv", validRows(50_000));
    const b = await files.write("b.csv", "product,price,quantity\nHalal Only,10,1\n");
    const [ra, rb] = await Promise.all([load(a), load(b)]);
    const [count] = await db.query<{ n: string }>("SELECT count(*) AS n FROM sales");
    const [meta] = await db.query<{ sha256: string }>(
      "SELECT sha256 FROM sales_db_seeds WHERE table_name = 'sales'",
    );
    const winner = [ra, rb].find((r) => r.sha256 === meta?.sha256);
    expect(winner, "the recorded hash is one of the two loads").to.not.equal(undefined);
    expect(Number(count?.n)).to.equal(winner?.valid);
  });

  it("loads into a schema-qualified table and reports it", async () => {
    await db.query("CREATE SCHEMA analytics");
    const report = await load(SAMPLE_CSV, { table: "analytics.sales" });
    expect(report.table).to.equal("analytics.sales");
    expect(await db.query("SELECT count(*)::int AS n FROM analytics.sales")).to.deep.equal([{ n: 3 }]);
  });

  it("refuses a table name that is not a plain identifier", async () => {
    const error = await load(SAMPLE_CSV, { table: 'sales"; DROP TABLE x; --' }).catch((e: unknown) => e);
    expect((error as SalesDbError).code).to.equal("usage");
  });

  it("fails cleanly, keeping the rows, when a view depends on the table", async () => {
    await load(SAMPLE_CSV);
    await db.query("CREATE VIEW expensive AS SELECT * FROM sales WHERE price > 100");
    const changed = await files.write("view.csv", "product,price,quantity\nHalal Tea,12.50,4\n");
    const error = await load(changed).catch((e: unknown) => e);
    expect((error as SalesDbError).message).to.match(/other objects \(views\?\) depend on it/);
    expect(await rows()).to.have.length(3);
  });

  it("inspects and drops what the seed owns", async () => {
    expect(await inspectSales({ connectionString: db.url })).to.deep.equal({
      exists: false,
      rowCount: 0,
      sha256: null,
      untouched: false,
    });
    const report = await load(SAMPLE_CSV);
    expect(await inspectSales({ connectionString: db.url })).to.deep.equal({
      exists: true,
      rowCount: 3,
      sha256: report.sha256,
      untouched: true,
    });
    await dropSales({ connectionString: db.url });
    expect(await inspectSales({ connectionString: db.url })).to.deep.equal({
      exists: false,
      rowCount: 0,
      sha256: null,
      untouched: false,
    });
    expect(await db.query("SELECT * FROM sales_db_seeds")).to.deep.equal([]);
  });
});

async function copyBackends(db: TestDatabase) {
  return db.query(
    "SELECT pid FROM pg_stat_progress_copy WHERE datname = current_database() AND tuples_processed > 0",
  );
}
