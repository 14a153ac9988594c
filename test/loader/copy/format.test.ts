import { expect } from "chai";
import { chooseCopyFormat, copyOptions } from "../../../loader/copy/format";
import { parseRules } from "../../../loader/rules/rules-file";

const rules = (types = "") =>
  parseRules(
    `min_price: 0\nmax_quantity: 9\nrequired_fields: []\nproduct_prefix: ""\nmax_decimals: 2\n${types}`,
  );

describe("COPY format", () => {
  it("is binary for every column type with a binary writer, the default TEXT, REAL, INTEGER included", () => {
    expect(chooseCopyFormat(rules())).to.deep.equal({
      format: "binary",
      reason: "every column has an exact binary form (TEXT, REAL, INTEGER)",
    });
    const wide = rules("column_types: {price: double precision, quantity: bigint}\n");
    expect(chooseCopyFormat(wide).format).to.equal("binary");
    expect(copyOptions("binary")).to.equal("FORMAT binary, FREEZE");
  });

  it("is text for NUMERIC, where binary was measured no faster, and whenever text is asked for", () => {
    expect(chooseCopyFormat(rules("column_types: {price: numeric}\n"), "binary")).to.deep.equal({
      format: "text",
      reason: "not every column has a binary writer (TEXT, NUMERIC, INTEGER)",
    });
    expect(chooseCopyFormat(rules(), "text")).to.include({ format: "text" });
    expect(copyOptions("text")).to.equal("FREEZE");
  });
});
