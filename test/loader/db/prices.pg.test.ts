import { expect } from "chai";
import { csv } from "../../support/files";
import { loadFixture } from "../../support/loading";

/** The prices a column stores are the prices sales-db accepts: loaded for real, none aborting the COPY. */
describe("load: prices at the edge of what the column stores (real PostgreSQL)", () => {
  const t = loadFixture();
  const prices = () =>
    t.db.query<{ price: string }>("SELECT price::text AS price FROM sales ORDER BY product");

  it("REAL: FLT_MAX is loaded; from halfway to 2^128 on the row is rejected, not the load", async () => {
    const file = await t.files.write(
      "real.csv",
      csv(
        "Halal A,340282350000000000000000000000000000000,1",
        "Halal B,340282356779733661637539395458142568447,1",
        "Halal C,340282356779733661637539395458142568448,1",
      ),
    );
    expect(await t.load(file)).to.include({ valid: 2, rejected: 1, loaded: 2 });
    expect(await prices()).to.deep.equal([{ price: "3.4028235e+38" }, { price: "3.4028235e+38" }]);
  });

  it("NUMERIC: a price beyond any double is loaded exactly", async () => {
    const huge = `1${"0".repeat(400)}.25`;
    const numeric = { ...t.rules, columnTypes: { ...t.rules.columnTypes, price: "NUMERIC" } };
    const file = await t.files.write("numeric.csv", csv(`Halal Huge,${huge},1`));
    expect(await t.load(file, { rules: numeric })).to.include({ valid: 1, loaded: 1 });
    expect(await prices()).to.deep.equal([{ price: huge }]);
  });
});
