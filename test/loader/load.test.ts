import { expect } from "chai";
import { createWriteStream } from "node:fs";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Client } from "pg";
import { SalesDbError } from "../../loader/errors";
import { dropSales, inspectTable, loadSales } from "../../loader/load";
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
    expect((error as SalesDbError).code).to.equal("csv_unclosed_quote");
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
    expect(await inspectTable({ connectionString: db.url })).to.deep.equal({
      exists: false,
      rowCount: 0,
      sha256: null,
      untouched: false,
    });
    const report = await load(SAMPLE_CSV);
    expect(await inspectTable({ connectionString: db.url })).to.deep.equal({
      exists: true,
      rowCount: 3,
      sha256: report.sha256,
      untouched: true,
    });
    await dropSales({ connectionString: db.url });
    expect(await inspectTable({ connectionString: db.url })).to.deep.equal({
      exists: false,
      rowCount: 0,
      sha256: null,
      untouched: false,
    });
    expect(await db.query("SELECT * FROM sales_db_seeds")).to.deep.equal([]);
  });

  describe("a table sales-db did not load", () => {
    const foreign = async () => {
      await db.query("CREATE TABLE sales (id int PRIMARY KEY, note text)");
      await db.query("INSERT INTO sales SELECT i, 'row ' || i FROM generate_series(1, 1000) AS i");
    };

    it("is refused, naming the table, and nothing is written", async () => {
      await foreign();
      const error = await load(SAMPLE_CSV).catch((e: unknown) => e);
      expect((error as SalesDbError).code).to.equal("foreign_table");
      expect((error as SalesDbError).message).to.match(/^sales exists but was not loaded by sales-db/);
      expect(await db.query("SELECT count(*)::int AS n, max(note) AS note FROM sales")).to.deep.equal([
        { n: 1000, note: "row 999" },
      ]);
      expect(await db.query("SELECT relname FROM pg_class WHERE relname LIKE 'sales_db%'")).to.deep.equal([]);
    });

    it("is replaced only when explicitly asked", async () => {
      await foreign();
      expect(await load(SAMPLE_CSV, { replaceForeignTable: true })).to.include({ changed: true, loaded: 3 });
      expect(await rows()).to.have.length(3);
      expect(await load(SAMPLE_CSV)).to.include({ changed: false }); // ours from now on
    });

    it("includes one dropped and recreated by hand after a load, and a view of that name", async () => {
      await load(SAMPLE_CSV);
      await db.query("DROP TABLE sales; CREATE TABLE sales (product text, price real, quantity integer)");
      expect(((await load(SAMPLE_CSV).catch((e: unknown) => e)) as SalesDbError).code).to.equal(
        "foreign_table",
      );
      await db.query("DROP TABLE sales; CREATE VIEW sales AS SELECT 1 AS one");
      const view = (await load(SAMPLE_CSV, { replaceForeignTable: true }).catch(
        (e: unknown) => e,
      )) as SalesDbError;
      expect(view.message).to.match(/not a plain table/);
    });

    it("is not dropped by dropSales", async () => {
      await foreign();
      expect(await dropSales({ connectionString: db.url })).to.equal(false);
      expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 1000 }]);
    });
  });

  describe("a reload of the same file", () => {
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
        UPDATE sales SET quantity = 99; ALTER TABLE sales ENABLE ALWAYS TRIGGER sales_db_modified`,
      "a write as a replica": "SET session_replication_role = replica; UPDATE sales SET quantity = 99",
      "a dropped trigger": "DROP TRIGGER sales_db_modified ON sales; UPDATE sales SET quantity = 98",
    };
    for (const [edit, sql] of Object.entries(edits)) {
      it(`after ${edit} by hand restores the file's rows`, async () => {
        await load(SAMPLE_CSV);
        const original = await rows();
        await db.query(sql);
        expect(await load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
        expect(await rows()).to.deep.equal(original);
        const [type] = await db.query<{ data_type: string }>(
          "SELECT data_type FROM information_schema.columns WHERE table_name = 'sales' AND column_name = 'price'",
        );
        expect(type?.data_type).to.equal("real");
      });
    }

    it("into an untouched table reads nothing past the file's hash and writes nothing", async () => {
      await load(SAMPLE_CSV);
      const before = await db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid");
      const copies = () =>
        db.query<{ n: string }>(
          "SELECT n_tup_ins::text AS n FROM pg_stat_user_tables WHERE relname = 'sales'",
        );
      const second = await load(SAMPLE_CSV);
      expect(second).to.include({ changed: false, loaded: 0, validated: false, valid: 3, rejected: 3 });
      expect(second.byRule).to.include({ product_prefix: 2 });
      expect(await db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid")).to.deep.equal(before);
      // No staging table was created: the relation counter of this database did not move.
      expect(await copies()).to.have.length(1);
    });

    it("with other bytes giving the same valid rows writes nothing, after validating them", async () => {
      await load(SAMPLE_CSV);
      const before = await db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid");
      const otherRejects = await files.write(
        "other-rejects.csv",
        "product,price,quantity\nHalal Laptop,999.99,2\nHalal Mouse,24.99,10\nHalal Keyboard,49.99,5\nBad,1,1\n",
      );
      expect(await load(otherRejects)).to.include({
        validated: true,
        changed: false,
        loaded: 0,
        rejected: 1,
      });
      expect(await db.query("SELECT xmin::text, ctid::text FROM sales ORDER BY ctid")).to.deep.equal(before);
      // The bookkeeping now knows this file: the next reload skips validation.
      expect(await load(otherRejects)).to.include({ validated: false, changed: false, rejected: 1 });
    });

    it("with other rules validates again", async () => {
      await load(SAMPLE_CSV);
      const stricter = { ...rules, maxQuantity: 5 };
      expect(await load(SAMPLE_CSV, { rules: stricter })).to.include({
        validated: true,
        changed: true,
        valid: 2,
      });
    });
  });

  describe("a load that would leave the table empty", () => {
    it("is refused for a header-only file or one whose every row is rejected, keeping the rows", async () => {
      await load(SAMPLE_CSV);
      for (const content of ["product,price,quantity\n", "product,price,quantity\nBad,1,1\n,,\n"]) {
        const file = await files.write("empty.csv", content);
        const error = (await load(file).catch((e: unknown) => e)) as SalesDbError;
        expect(error.code).to.equal("empty_result");
        expect(error.message).to.match(
          /empty\.csv: no valid rows .* would empty sales, which holds rows; nothing written$/,
        );
        expect(await rows()).to.have.length(3);
      }
    });

    it("empties the table when asked, and is no question for a new or empty table", async () => {
      const header = await files.write("header.csv", "product,price,quantity\n");
      expect(await load(header)).to.include({ changed: true, loaded: 0 });
      await load(SAMPLE_CSV);
      expect(await load(header, { allowEmpty: true })).to.include({ changed: true, loaded: 0 });
      expect(await rows()).to.deep.equal([]);
    });
  });

  describe("locks", () => {
    it("never makes readers wait while a load waits for the table", async () => {
      await load(SAMPLE_CSV);
      const holder = await connected(db.url);
      try {
        await holder.query("BEGIN; SELECT count(*) FROM sales");
        const changed = await files.write("locks.csv", "product,price,quantity\nHalal Tea,12.50,4\n");
        const loading = load(changed, { lockTimeoutMs: 20_000 });
        await waitFor(async () => (await loaderBackends(db, "l.locktype = 'advisory' AND l.granted")) > 0);
        for (let i = 0; i < 5; i++) {
          const started = Date.now();
          await readerWithTimeout(db.url, 1_000);
          expect(Date.now() - started).to.be.lessThan(1_000);
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
        await holder.query("COMMIT");
        expect(await loading).to.include({ changed: true, loaded: 1 });
      } finally {
        await holder.end();
      }
    });

    it("a lock timeout names the session holding the table and how to end it", async () => {
      await load(SAMPLE_CSV);
      const holder = await connected(db.url, "report-job");
      try {
        await holder.query("BEGIN; SELECT count(*) FROM sales");
        const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
        const changed = await files.write("timeout.csv", "product,price,quantity\nHalal Tea,12.50,4\n");
        const error = (await load(changed, { lockTimeoutMs: 700 }).catch((e: unknown) => e)) as SalesDbError;
        expect(error.code).to.equal("db_lock_timeout");
        expect(error.message).to.match(
          new RegExp(
            `held by pid ${pid} \\(application "report-job", user \\w+, idle in transaction since [^)]+\\); end it with SELECT pg_terminate_backend\\(${pid}\\)`,
          ),
        );
      } finally {
        await holder.end();
      }
      expect(await rows()).to.have.length(3);
    });

    it("takes no lock while reading the file: a slow input does not stop another load", async () => {
      await load(SAMPLE_CSV);
      const stalled = new PassThrough();
      stalled.write("product,price,quantity\nHalal Slow,10,1\n");
      // A load whose input never ends, and another one that must get through meanwhile.
      const fifo = await files.fifo("stalled.csv");
      const writer = writeFifo(fifo, stalled);
      const slow = load(fifo, { lockTimeoutMs: 20_000 }).catch((e: unknown) => e);
      await waitFor(async () => (await loaderBackends(db, "a.query LIKE 'COPY%'")) > 0);
      const other = await files.write("other.csv", "product,price,quantity\nHalal Fast,10,1\n");
      expect(await load(other, { lockTimeoutMs: 5_000 })).to.include({ changed: true });
      stalled.end();
      await writer;
      expect(await slow).to.include({ changed: true, loaded: 1 });
    });
  });

  it("names the CSV line of a row the database's encoding cannot store", async () => {
    await db.query(
      `CREATE DATABASE "${db.name}_latin1" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
    );
    const url = db.url.replace(`/${db.name}`, `/${db.name}_latin1`);
    try {
      const file = await files.write(
        "euro.csv",
        "product,price,quantity\nHalal Café,10,1\nBad,1,1\nHalal Euro €,10,1\n",
      );
      const error = (await loadSales({ connectionString: url, file, rules }).catch(
        (e: unknown) => e,
      )) as SalesDbError;
      expect(error.line).to.equal(4);
      expect(error.message).to.match(
        /euro\.csv:4: the database refused this row: .*LATIN1.*; nothing written$/,
      );
    } finally {
      await db.query(`DROP DATABASE "${db.name}_latin1" WITH (FORCE)`);
    }
  });

  it("a user table named like a staging table, or sales__loading, is left alone", async () => {
    await db.query("CREATE TABLE sales__loading (x int); INSERT INTO sales__loading VALUES (7)");
    expect(await load(SAMPLE_CSV)).to.include({ changed: true });
    expect(await db.query("SELECT x FROM sales__loading")).to.deep.equal([{ x: 7 }]);
    for (const table of ["sales_db_seeds", "pg_temp.x", "pg_catalog.sales", "sales_db_staging_1"]) {
      const error = (await load(SAMPLE_CSV, { table }).catch((e: unknown) => e)) as SalesDbError;
      expect(error.code, table).to.equal("usage");
    }
  });
});

async function copyBackends(db: TestDatabase) {
  return db.query(
    "SELECT pid FROM pg_stat_progress_copy WHERE datname = current_database() AND tuples_processed > 0",
  );
}

/** sales-db sessions whose activity or locks match `condition` (over pg_stat_activity a and pg_locks l). */
async function loaderBackends(db: TestDatabase, condition: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(DISTINCT a.pid)::int AS n FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid
     WHERE a.application_name = 'sales-db' AND ${condition}`,
  );
  return row?.n ?? 0;
}

async function connected(url: string, application = "test-holder"): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: application });
  await client.connect();
  return client;
}

/** A plain SELECT that fails if it has to wait longer than `timeoutMs` for a lock. */
async function readerWithTimeout(url: string, timeoutMs: number): Promise<void> {
  const client = await connected(url, "test-reader");
  try {
    await client.query(`SET lock_timeout = ${timeoutMs}`);
    await client.query("SELECT count(*) FROM sales");
  } finally {
    await client.end();
  }
}

/** Opens the FIFO for writing (which unblocks its reader) and copies `from` into it. */
async function writeFifo(fifo: string, from: NodeJS.ReadableStream): Promise<void> {
  await pipeline(from, createWriteStream(fifo));
}
