import { expect } from "chai";
import { resolve } from "node:path";
import { find, runProgram } from "../../support/pulumi";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { scratch } from "../../support/files";
import { runSerialized } from "../../support/provider-process";

describe("SalesSeed serialized provider (fresh Node process, real PostgreSQL)", () => {
  let source: string;
  let db: TestDatabase;
  let files: Awaited<ReturnType<typeof scratch>>;
  before(async () => {
    const { resources } = await runProgram("dev", { "sales-db:dbPassword": "unused-here" });
    source = find(resources, "pulumi-nodejs:dynamic/seed:SalesSeed").inputs.__provider as string;
    files = await scratch();
  });
  after(() => files.cleanup());
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("captures no secret and nothing large", () => {
    expect(source).to.not.contain("unused-here");
    expect(source.length).to.be.lessThan(20_000);
  });

  it("runs check, create, diff, update and delete against a real database", async () => {
    const url = new URL(db.url);
    const inputs = {
      csv: "data/sales.csv",
      rules: "data/config.yaml",
      table: "sales",
      database: url.pathname.slice(1),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      target: { mode: "direct", host: url.hostname, port: Number(url.port) },
      waitTimeoutSeconds: 10,
      sourceHash: "a",
    };
    const changedCsv = await files.write("changed.csv", "product,price,quantity\nHalal Tea,12.50,4\n");
    const changed = { ...inputs, csv: changedCsv, sourceHash: "b" };
    const { results, error } = await runSerialized(
      source,
      [
        { method: "check", args: [{}, inputs] }, // 0
        { method: "create", args: [{ $result: 0, path: ["inputs"] }] }, // 1
        { method: "diff", args: ["id", { $result: 1, path: ["outs"] }, { $result: 0, path: ["inputs"] }] }, // 2
        { method: "check", args: [{}, changed] }, // 3
        { method: "diff", args: ["id", { $result: 1, path: ["outs"] }, { $result: 3, path: ["inputs"] }] }, // 4
        { method: "update", args: ["id", { $result: 1, path: ["outs"] }, { $result: 3, path: ["inputs"] }] }, // 5
        { method: "read", args: ["id", { $result: 5, path: ["outs"] }] }, // 6
      ],
      { PGPASSWORD: decodeURIComponent(url.password) },
    );
    expect(error).to.equal(undefined);
    const [checked, created, same, , differs, updated, read] = results as Record<string, unknown>[];
    expect(checked!.failures).to.deep.equal([]);
    expect(checked!.inputs).to.have.nested.include({ "validation.valid": 3, "validation.rejected": 3 });
    expect(created!.id).to.match(/\/sales$/);
    expect(JSON.stringify(created!.outs)).to.not.contain(inputs.password);
    expect(same).to.deep.include({ changes: false, replaces: [] });
    expect(differs).to.deep.include({ changes: true, replaces: [] });
    expect(JSON.stringify(updated)).to.not.contain(inputs.password);
    expect(read).to.have.nested.include({ "props.rowCount": 1 });
    expect(await db.query("SELECT product, quantity FROM sales")).to.deep.equal([
      { product: "Halal Tea", quantity: 4 },
    ]);

    const deleted = await runSerialized(source, [{ method: "delete", args: ["id", updated!.outs] }], {
      PGPASSWORD: decodeURIComponent(url.password),
    });
    expect(deleted.error).to.equal(undefined);
    expect(await db.query("SELECT to_regclass('sales') IS NULL AS gone")).to.deep.equal([{ gone: true }]);
  });

  it("fails check with the rules file's own message when it does not parse", async () => {
    const rules = await files.write("bad.yaml", "min_price: [\n");
    const { results } = await runSerialized(
      source,
      [{ method: "check", args: [{}, { csv: "data/sales.csv", rules }] }],
      {},
    );
    const { failures } = results[0] as { failures: { property: string; reason: string }[] };
    expect(failures).to.have.length(1);
    expect(failures[0]?.property).to.equal("rules");
    expect(failures[0]?.reason).to.match(/bad\.yaml:\d+: invalid YAML: /);
  });
});

describe("SalesSeed provider module path", () => {
  // Serialized providers name the module they load; stacks deployed by older versions name these paths.
  for (const path of ["dist/infra/seeder.js", "dist/infra/seed-provider.js"]) {
    it(`still resolves ${path}, which providers serialized by older versions load on refresh and destroy`, () => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const old = require(resolve(path)) as Record<string, unknown>;
      const current = require(resolve("dist/infra/seed/provider.js")) as Record<string, unknown>;
      /* eslint-enable @typescript-eslint/no-require-imports */
      expect(old.deleteSeed).to.be.a("function").and.equal(current.deleteSeed);
      expect(Object.keys(old).sort()).to.deep.equal(Object.keys(current).sort());
    });
  }
});
