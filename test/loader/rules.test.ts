import { expect } from "chai";
import { loadRules, parseRules } from "../../loader/rules";
import { SalesDbError } from "../../loader/errors";
import { SAMPLE_RULES } from "../support/files";

const VALID = `min_price: 10.0
max_quantity: 100
required_fields: [product, price, quantity]
product_prefix: 'Halal'
max_decimals: 2
`;

function parseError(text: string): SalesDbError {
  try {
    parseRules(text, "rules.yaml");
  } catch (error) {
    expect(error).to.be.instanceOf(SalesDbError);
    return error as SalesDbError;
  }
  throw new Error("expected parseRules to throw");
}

describe("rules", () => {
  it("parses the sample config.yaml into a typed rule set", async () => {
    const rules = await loadRules(SAMPLE_RULES);
    expect(rules).to.deep.equal({
      minPrice: 10,
      maxQuantity: 100,
      requiredFields: ["product", "price", "quantity"],
      productPrefix: "Halal",
      maxDecimals: 2,
      columnTypes: { product: "TEXT", price: "REAL", quantity: "INTEGER" },
    });
  });

  it("names the file and the key when a key is missing", () => {
    const error = parseError(VALID.replace("max_decimals: 2\n", ""));
    expect(error.code).to.equal("rules_invalid");
    expect(error.rule).to.equal("max_decimals");
    expect(error.message).to.equal('rules.yaml: missing key "max_decimals"');
  });

  it("rejects an unknown key", () => {
    const error = parseError(`${VALID}max_price: 5\n`);
    expect(error.rule).to.equal("max_price");
    expect(error.message).to.match(/^rules\.yaml: unknown key "max_price"/);
  });

  for (const [key, bad] of [
    ["min_price", "'ten'"],
    ["min_price", ".nan"],
    ["max_quantity", "1.5"],
    ["max_quantity", "0"],
    ["max_quantity", "3000000000"],
    ["required_fields", "[product, colour]"],
    ["required_fields", "[price, price]"],
    ["product_prefix", "42"],
    ["max_decimals", "-1"],
  ] as const) {
    it(`rejects ${key}: ${bad} with a message naming the key`, () => {
      const text = VALID.replace(new RegExp(`^${key}:.*$`, "m"), `${key}: ${bad}`);
      const error = parseError(text);
      expect(error.rule).to.equal(key);
      expect(error.message).to.contain(`key "${key}" must be`);
    });
  }

  it("reports invalid YAML with its line", () => {
    const error = parseError("min_price: 10\nmax_quantity: [1,\n");
    expect(error.code).to.equal("rules_invalid");
    expect(error.message).to.match(/^rules\.yaml:\d+: invalid YAML/);
  });

  it("rejects a document that is not a mapping", () => {
    expect(parseError("- 1\n- 2\n").message).to.equal(
      "rules.yaml: expected a mapping of rule names to values",
    );
  });

  it("rejects a duplicated key instead of keeping the last one", () => {
    expect(parseError(`${VALID}min_price: 1\n`).message).to.contain("invalid YAML");
  });

  it("accepts column_types from the allow-list and upper-cases them", () => {
    const rules = parseRules(`${VALID}column_types: {price: numeric, quantity: bigint}\n`);
    expect(rules.columnTypes).to.deep.equal({ product: "TEXT", price: "NUMERIC", quantity: "BIGINT" });
  });

  it("rejects a bounded type a valid row could overflow", () => {
    expect(parseError(`${VALID}column_types: {price: "numeric(6,2)"}\n`).rule).to.equal("column_types");
    expect(parseError(`${VALID}column_types: {product: "varchar(8)"}\n`).rule).to.equal("column_types");
  });

  it("rejects a column type outside the allow-list, which also keeps SQL out", () => {
    const error = parseError(`${VALID}column_types: {price: "real; DROP TABLE sales"}\n`);
    expect(error.rule).to.equal("column_types");
    expect(error.message).to.contain("column_types.price");
  });

  it("names an unreadable rules file", async () => {
    const error = await loadRules("no/such/rules.yaml").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SalesDbError);
    expect((error as SalesDbError).code).to.equal("file_unreadable");
    expect((error as SalesDbError).message).to.equal("no/such/rules.yaml: cannot read rules file (ENOENT)");
  });
});
