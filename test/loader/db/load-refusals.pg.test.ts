import { expect } from "chai";
import { dropSales } from "../../../loader/db/load";
import { rejectsWith } from "../../support/errors";
import { csv, SAMPLE_CSV } from "../../support/files";
import { loadFixture } from "../../support/loading";

describe("load: what it refuses (real PostgreSQL)", () => {
  const t = loadFixture();

  describe("a table sales-db did not load", () => {
    const foreign = async () => {
      await t.db.query("CREATE TABLE sales (id int PRIMARY KEY, note text)");
      await t.db.query("INSERT INTO sales SELECT i, 'row ' || i FROM generate_series(1, 1000) AS i");
    };

    it("is refused, naming the table, and nothing is written", async () => {
      await foreign();
      await rejectsWith(t.load(SAMPLE_CSV), {
        code: "foreign_table",
        message: /^sales exists but was not loaded by sales-db/,
      });
      expect(await t.db.query("SELECT count(*)::int AS n, max(note) AS note FROM sales")).to.deep.equal([
        { n: 1000, note: "row 999" },
      ]);
      expect(await t.db.query("SELECT relname FROM pg_class WHERE relname LIKE 'sales_db%'")).to.deep.equal(
        [],
      );
    });

    it("is replaced only when explicitly asked, and is sales-db's from then on", async () => {
      await foreign();
      expect(await t.load(SAMPLE_CSV, { replaceForeignTable: true })).to.include({
        changed: true,
        loaded: 3,
      });
      expect(await t.rows()).to.have.length(3);
      expect(await t.load(SAMPLE_CSV)).to.include({ changed: false });
    });

    it("includes one dropped and recreated by hand after a load, and a view of that name", async () => {
      await t.load(SAMPLE_CSV);
      await t.db.query("DROP TABLE sales; CREATE TABLE sales (product text, price real, quantity integer)");
      await rejectsWith(t.load(SAMPLE_CSV), { code: "foreign_table" });
      await t.db.query("DROP TABLE sales; CREATE VIEW sales AS SELECT 1 AS one");
      await rejectsWith(t.load(SAMPLE_CSV, { replaceForeignTable: true }), {
        code: "foreign_table",
        message: "not a plain table",
      });
    });

    it("is not dropped by dropSales", async () => {
      await foreign();
      expect(await dropSales({ connectionString: t.db.url })).to.equal(false);
      expect(await t.db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 1000 }]);
    });
  });

  describe("a load that would leave the table empty", () => {
    it("is refused for a header-only file or one whose every row is rejected, keeping the rows", async () => {
      await t.load(SAMPLE_CSV);
      for (const content of [csv(), csv("Bad,1,1", ",,")]) {
        const file = await t.files.write("empty.csv", content);
        await rejectsWith(t.load(file), {
          code: "empty_result",
          message: /empty\.csv: no valid rows .* would empty sales, which holds rows; nothing written$/,
        });
        expect(await t.rows()).to.have.length(3);
      }
    });

    it("empties the table when asked, and is no question for a new or empty table", async () => {
      const header = await t.files.write("header.csv", csv());
      expect(await t.load(header)).to.include({ changed: true, loaded: 0 });
      await t.load(SAMPLE_CSV);
      expect(await t.load(header, { allowEmpty: true })).to.include({ changed: true, loaded: 0 });
      expect(await t.rows()).to.deep.equal([]);
    });
  });

  describe("table names", () => {
    it("refuses one that is not a plain identifier", async () => {
      await rejectsWith(t.load(SAMPLE_CSV, { table: 'sales"; DROP TABLE x; --' }), {
        code: "usage",
        message: "invalid table name",
      });
    });

    it("refuses sales-db's own names and system schemas", async () => {
      for (const table of ["sales_db_seeds", "pg_temp.x", "pg_catalog.sales", "sales_db_staging_1"]) {
        await rejectsWith(t.load(SAMPLE_CSV, { table }), { code: "usage", message: table });
      }
    });

    it("leaves alone a user's table named like a staging table", async () => {
      await t.db.query(
        "CREATE TABLE sales_db_staging_mine (x int); INSERT INTO sales_db_staging_mine VALUES (7)",
      );
      expect(await t.load(SAMPLE_CSV)).to.include({ changed: true });
      expect(await t.db.query("SELECT x FROM sales_db_staging_mine")).to.deep.equal([{ x: 7 }]);
    });
  });
});
