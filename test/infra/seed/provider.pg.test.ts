import { expect } from "chai";
import {
  checkSeed,
  createSeed,
  deleteSeed,
  diffSeed,
  readSeed,
  updateSeed,
} from "../../../infra/seed/provider";
import type { SeedInputs } from "../../../infra/seed/types";
import { scratch } from "../../support/files";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";

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

describe("seed provider functions (real PostgreSQL)", () => {
  let db: TestDatabase;
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("check reports the counts a preview shows", async () => {
    const { inputs, failures } = await checkSeed({}, inputsFor(db.url));
    expect(failures).to.deep.equal([]);
    expect(inputs.validation).to.deep.include({
      valid: 3,
      rejected: 3,
      byRule: { required_fields: 1, product_prefix: 2, price_numeric: 1, min_price: 1, max_quantity: 1 },
    });
    expect(inputs.validation?.rejects.map((r) => r.line)).to.deep.equal([5, 6, 7]);
  });

  it("the rejected-share gate fails check, so neither preview nor up writes anything", async () => {
    const { failures } = await checkSeed({}, inputsFor(db.url, { maxRejectedShare: 0.25 }));
    expect(failures).to.have.length(1);
    expect(failures[0]).to.deep.include({ property: "csv" });
    expect(failures[0]?.reason).to.contain("3 of 6 rows rejected (50.0%), more than the allowed 25.0%");
  });

  it("the gate's message names the config key, the rejected lines and a runnable command", async () => {
    const { failures } = await checkSeed({}, inputsFor(db.url, { maxRejectedShare: 0.25 }));
    const reason = failures[0]?.reason ?? "";
    expect(reason).to.contain("seedMaxRejectedShare is 0.25");
    expect(reason).to.contain(
      "rejected line 5 [required_fields], line 6 [product_prefix, price_numeric], line 7 [product_prefix, min_price, max_quantity]",
    );
    expect(reason).to.contain("npx sales-db validate --csv data/sales.csv --rules data/config.yaml");
    expect(reason).to.contain("pulumi config set seedMaxRejectedShare 0.5");
    expect(reason).to.not.contain("\n");
  });

  it("the gate at write time (the file changed after preview) names the config key too", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const error = await createSeed({ ...inputs, maxRejectedShare: 0.25 }).catch((e: Error) => e);
    expect(String(error)).to.contain("seedMaxRejectedShare is 0.25");
    expect(await db.query("SELECT to_regclass('sales') IS NULL AS none")).to.deep.equal([{ none: true }]);
  });

  it("check reuses the validation it recorded for the same sourceHash, and validates again when it changes", async () => {
    const files = await scratch();
    try {
      const csv = await files.write("sales.csv", "product,price,quantity\nHalal Tea,12.50,4\n");
      const first = (await checkSeed({}, inputsFor(db.url, { csv, sourceHash: "h1" }))).inputs;
      expect(first.validation?.valid).to.equal(1);
      await files.write("sales.csv", "product,price,quantity\nHalal Tea,12.50,4\nHalal Dates,13.50,1\n");
      // Same hash: the file is not read again (a stale hash would keep the old count, which is how we tell).
      const same = (await checkSeed(first, inputsFor(db.url, { csv, sourceHash: "h1" }))).inputs;
      expect(same.validation).to.deep.equal(first.validation);
      const changed = (await checkSeed(first, inputsFor(db.url, { csv, sourceHash: "h2" }))).inputs;
      expect(changed.validation?.valid).to.equal(2);
      expect(changed.loadReason).to.equal("rows sha256 changed");
    } finally {
      await files.cleanup();
    }
  });

  it("a CSV whose valid rows are unchanged is no change, though its bytes (and so its hash) changed", async () => {
    const files = await scratch();
    try {
      const original = await files.write("a.csv", "product,price,quantity\nHalal Tea,12.50,4\n");
      const withReject = await files.write("b.csv", "product,price,quantity\nHalal Tea,12.50,4\nBad,1,1\n");
      const { inputs } = await checkSeed({}, inputsFor(db.url, { csv: original, sourceHash: "a" }));
      const { outs } = await createSeed(inputs);
      const next = (await checkSeed(inputs, inputsFor(db.url, { csv: withReject, sourceHash: "b" }))).inputs;
      expect(next.loadReason).to.equal("");
      expect(diffSeed(outs, next).changes).to.equal(false);
    } finally {
      await files.cleanup();
    }
  });

  it("an unchanged seed diffs as no change, and an update with the same rows writes nothing", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    expect(diffSeed(outs, inputs).changes).to.equal(false);
    const before = await db.query("SELECT xmin::text AS xmin FROM sales ORDER BY product");
    await updateSeed(outs, inputs);
    expect(await db.query("SELECT xmin::text AS xmin FROM sales ORDER BY product")).to.deep.equal(before);
  });

  it("a target read back from the state with its keys in another order is no change", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const reordered = {
      ...inputs,
      target: Object.fromEntries(Object.entries(inputs.target).reverse()) as typeof inputs.target,
    };
    expect(diffSeed({ ...reordered, rowCount: 3, validation: inputs.validation! }, inputs).changes).to.equal(
      false,
    );
  });

  it("moving the seed to another table is an update that drops the old table", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    const moved = (await checkSeed({}, inputsFor(db.url, { table: "sales_v2" }))).inputs;
    expect(diffSeed(outs, moved)).to.deep.equal({ changes: true, replaces: [], deleteBeforeReplace: false });
    await updateSeed(outs, moved);
    expect(
      await db.query(
        "SELECT to_regclass('sales') IS NULL AS gone, (SELECT count(*)::int FROM sales_v2) AS n",
      ),
    ).to.deep.equal([{ gone: true, n: 3 }]);
  });

  it("read with nothing recorded (an import) reports the seed as not found", async () => {
    expect(await readSeed("any-id", undefined)).to.deep.equal({});
  });

  it("read reports drift that refresh should show, and a dropped table as gone", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const { id, outs } = await createSeed(inputs);
    const previous = process.env.PGPASSWORD;
    process.env.PGPASSWORD = inputs.password; // direct mode: read gets no secret inputs
    try {
      const same = await readSeed(id, outs);
      expect(same.props).to.deep.equal(outs);
      // No drift: the recorded inputs (with the secret password read cannot know) stay as they are.
      expect(same.inputs).to.equal(undefined);
      await db.query("DELETE FROM sales WHERE product = 'Halal Mouse'");
      const drifted = await readSeed(id, outs);
      expect(drifted.props?.rowCount).to.equal(2);
      // The live count goes into the inputs too: the next preview shows why it loads.
      expect(drifted.inputs?.rowCount).to.equal(2);
      const next = (await checkSeed(drifted.inputs!, inputs)).inputs;
      expect(next.loadReason).to.equal("rowCount 2 → 3 (drift)");
      expect(diffSeed(drifted.props!, next).changes).to.equal(true);
      await db.query("DROP TABLE sales");
      expect(await readSeed(id, outs)).to.deep.equal({});
    } finally {
      if (previous === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = previous;
    }
  });

  it("read sees a hand edit that keeps the row count, and the next up restores the rows", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
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
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const error = (await createSeed(inputs).catch((e: unknown) => e)) as Error;
    expect(error.message).to.match(
      /^SalesSeed: sales exists but was not loaded by sales-db .*; set seedTable to another table, or drop or rename/,
    );
    expect(error.message).to.not.contain("\n");
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 1000 }]);
  });

  it("an update that reaches the same table under another host name keeps its rows", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    const sameTable = (await checkSeed({}, inputsFor(db.url.replace("127.0.0.1", "localhost")))).inputs;
    expect(diffSeed(outs, sameTable).changes).to.equal(true);
    await updateSeed(outs, sameTable);
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
  });

  it("a refresh that found fewer rows makes the next up reload them", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const { outs } = await createSeed(inputs);
    expect(diffSeed({ ...outs, rowCount: 2 }, inputs).changes).to.equal(true);
  });

  it("destroy keeps the table when the seed keeps it (a retained volume), and drops it otherwise", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url, { keepTableOnDelete: true }));
    const { outs } = await createSeed(inputs);
    await deleteSeed(outs);
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
    const previous = process.env.PGPASSWORD;
    process.env.PGPASSWORD = inputs.password; // direct mode: delete gets no secret inputs
    try {
      await deleteSeed({ ...outs, keepTableOnDelete: false });
    } finally {
      if (previous === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = previous;
    }
    expect(await db.query("SELECT to_regclass('sales') IS NULL AS gone")).to.deep.equal([{ gone: true }]);
  });

  it("a password the database does not take says it was changed outside the stack, and how to fix it", async () => {
    const { inputs } = await checkSeed({}, inputsFor(db.url));
    const error = await createSeed({ ...inputs, password: "not-the-password" }).catch((e: Error) => e);
    const message = String(error);
    expect(message).to.match(/refused the password of user \w+ for database sales_db_test_\w+/);
    expect(message).to.contain("if the role's password was changed outside this stack, set dbPassword to it");
    expect(message).to.contain("README, Day-two operations");
    expect(message).to.not.contain("not-the-password");
  });
});
