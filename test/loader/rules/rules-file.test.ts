import { expect } from "chai";
import { loadRules, parseRules } from "../../../loader/rules/rules-file";
import { rejectsWith, throwsWith, type ExpectedError } from "../../support/errors";
import { SAMPLE_RULES } from "../../support/files";

const VALID = `min_price: 10.0
max_quantity: 100
required_fields: [product, price, quantity]
product_prefix: 'Halal'
max_decimals: 2
`;

/** Parses `text` as rules.yaml, expecting it to be refused as `expected` (a rules_invalid error by default). */
function refused(text: string, expected: Partial<ExpectedError> = {}) {
  return throwsWith(() => parseRules(text, "rules.yaml"), { code: "rules_invalid", ...expected });
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
    const error = refused(VALID.replace("max_decimals: 2\n", ""), { rule: "max_decimals" });
    expect(error.message).to.equal('rules.yaml: missing key "max_decimals"');
  });

  it("rejects an unknown key", () => {
    refused(`${VALID}max_price: 5\n`, {
      rule: "max_price",
      message: /^rules\.yaml: unknown key "max_price"/,
    });
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
      refused(text, { rule: key, message: `key "${key}" must be` });
    });
  }

  it("reports invalid YAML with its line", () => {
    refused("min_price: 10\nmax_quantity: [1,\n", { message: /^rules\.yaml:\d+: invalid YAML/ });
  });

  it("rejects a document that is not a mapping", () => {
    refused("- 1\n- 2\n", { message: /^rules\.yaml: expected a mapping of rule names to values$/ });
  });

  it("rejects a duplicated key instead of keeping the last one", () => {
    refused(`${VALID}min_price: 1\n`, { message: "invalid YAML" });
  });

  it("accepts column_types from the allow-list and upper-cases them", () => {
    const rules = parseRules(`${VALID}column_types: {price: numeric, quantity: bigint}\n`);
    expect(rules.columnTypes).to.deep.equal({ product: "TEXT", price: "NUMERIC", quantity: "BIGINT" });
  });

  it("rejects a bounded type a valid row could overflow", () => {
    refused(`${VALID}column_types: {price: "numeric(6,2)"}\n`, { rule: "column_types" });
    refused(`${VALID}column_types: {product: "varchar(8)"}\n`, { rule: "column_types" });
  });

  it("rejects a column type outside the allow-list, which also keeps SQL out", () => {
    refused(`${VALID}column_types: {price: "real; DROP TABLE sales"}\n`, {
      rule: "column_types",
      message: "column_types.price",
    });
  });

  it("names an unreadable rules file", async () => {
    await rejectsWith(loadRules("no/such/rules.yaml"), {
      code: "file_unreadable",
      message: /^no\/such\/rules\.yaml: cannot read rules file \(ENOENT\)$/,
    });
  });
});
