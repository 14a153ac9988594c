import { expect } from "chai";
import { checkSeed, createSeed, diffSeed, readSeed, updateSeed, type SeedInputs } from "../../infra/seeder";
import { freePort, startEmbeddedPostgres } from "../../loader/embedded";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

/** Seed inputs for a direct connection to `url`, as check would receive them. */
function inputsFor(url: string, extra: Partial<SeedInputs> = {}): SeedInputs {
  const parsed = new URL(url);
  return {
    csv: "data/sales.csv",
    rules: "data/config.yaml",
    table: "sales",
    database: parsed.pathname.slice(1),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    target: { mode: "direct", host: parsed.hostname, port: Number(parsed.port) },
    waitTimeoutSeconds: 30,
    sourceHash: "x",
    ...extra,
  };
}

describe("seeder (provider behaviour, real PostgreSQL)", () => {
  let db: TestDatabase;
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("check reports the counts a preview shows", async () => {
    const { inputs, failures } = await checkSeed(inputsFor(db.url));
    expect(failures).to.deep.equal([]);
    expect(inputs.validation).to.deep.include({
      valid: 3,
      rejected: 3,
      byRule: { required_fields: 1, product_prefix: 2, price_numeric: 1, min_price: 1, max_quantity: 1 },
    });
    expect(inputs.validation?.rejects.map((r) => r.line)).to.deep.equal([5, 6, 7]);
  });

  it("the rejected-share gate fails check, so neither preview nor up writes anything", async () => {
    const { failures } = await checkSeed(inputsFor(db.url, { maxRejectedShare: 0.25 }));
    expect(failures).to.have.length(1);
    expect(failures[0]).to.deep.include({ property: "csv" });
    expect(failures[0]?.reason).to.contain("3 of 6 rows rejected (50.0%), more than the allowed 25.0%");
  });

  it("an unchanged seed diffs as no change, and an update with the same rows writes nothing", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    expect(diffSeed(outs, inputs).changes).to.equal(false);
    const before = await db.query("SELECT xmin::text AS xmin FROM sales ORDER BY product");
    await updateSeed(outs, inputs);
    expect(await db.query("SELECT xmin::text AS xmin FROM sales ORDER BY product")).to.deep.equal(before);
  });

  it("a target read back from the state with its keys in another order is no change", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const reordered = {
      ...inputs,
      target: Object.fromEntries(Object.entries(inputs.target).reverse()) as typeof inputs.target,
    };
    expect(diffSeed({ ...reordered, rowCount: 3, validation: inputs.validation! }, inputs).changes).to.equal(
      false,
    );
  });

  it("moving the seed to another table is an update that drops the old table", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    const moved = (await checkSeed(inputsFor(db.url, { table: "sales_v2" }))).inputs;
    expect(diffSeed(outs, moved)).to.deep.equal({ changes: true, replaces: [], deleteBeforeReplace: false });
    await updateSeed(outs, moved);
    expect(
      await db.query(
        "SELECT to_regclass('sales') IS NULL AS gone, (SELECT count(*)::int FROM sales_v2) AS n",
      ),
    ).to.deep.equal([{ gone: true, n: 3 }]);
  });

  it("read reports drift that refresh should show, and a dropped table as gone", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const { id, outs } = await createSeed(inputs);
    const previous = process.env.PGPASSWORD;
    process.env.PGPASSWORD = inputs.password; // direct mode: read gets no secret inputs
    try {
      expect((await readSeed(id, outs)).props).to.deep.equal(outs);
      await db.query("DELETE FROM sales WHERE product = 'Halal Mouse'");
      expect((await readSeed(id, outs)).props?.rowCount).to.equal(2);
      await db.query("DROP TABLE sales");
      expect(await readSeed(id, outs)).to.deep.equal({});
    } finally {
      if (previous === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = previous;
    }
  });

  it("read sees a hand edit that keeps the row count, and the next up restores the rows", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const { id, outs } = await createSeed(inputs);
    const previous = process.env.PGPASSWORD;
    process.env.PGPASSWORD = inputs.password;
    try {
      await db.query("UPDATE sales SET price = 1 WHERE product = 'Halal Mouse'");
      const read = (await readSeed(id, outs)).props;
      expect(read?.rowCount).to.equal(3);
      expect(diffSeed(read!, inputs).changes).to.equal(true);
      await updateSeed(read!, inputs);
      expect(await db.query("SELECT price FROM sales WHERE product = 'Halal Mouse'")).to.deep.equal([
        { price: 24.99 },
      ]);
    } finally {
      if (previous === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = previous;
    }
  });

  it("up fails clearly, writing nothing, when the table exists but the seed did not load it", async () => {
    await db.query("CREATE TABLE sales (id int); INSERT INTO sales SELECT generate_series(1, 1000)");
    const { inputs } = await checkSeed(inputsFor(db.url));
    const error = (await createSeed(inputs).catch((e: unknown) => e)) as Error;
    expect(error.message).to.match(
      /^SalesSeed: sales exists but was not loaded by sales-db .*; set seedTable to another table, or drop or rename/,
    );
    expect(error.message).to.not.contain("\n");
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 1000 }]);
  });

  it("an update that reaches the same table under another host name keeps its rows", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    const sameTable = (await checkSeed(inputsFor(db.url.replace("127.0.0.1", "localhost")))).inputs;
    expect(diffSeed(outs, sameTable).changes).to.equal(true);
    await updateSeed(outs, sameTable);
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
  });

  it("a refresh that found fewer rows makes the next up reload them", async () => {
    const { inputs } = await checkSeed(inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    expect(diffSeed({ ...outs, rowCount: 2 }, inputs).changes).to.equal(true);
  });

  it("waits for a database that is not ready yet", async function () {
    this.timeout(60_000);
    const port = await freePort();
    const url = `postgres://postgres:late@127.0.0.1:${port}/postgres`;
    const late = new Promise((resolve) => setTimeout(resolve, 2_000)).then(() =>
      startEmbeddedPostgres({ port, password: "late" }),
    );
    try {
      const { inputs } = await checkSeed(inputsFor(url));
      const { outs } = await createSeed(inputs);
      expect(outs.rowCount).to.equal(3);
    } finally {
      await (await late).stop();
    }
  });
});
