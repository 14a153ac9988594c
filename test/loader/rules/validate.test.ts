import { expect } from "chai";
import { parseRules, type RuleSet } from "../../../loader/rules/rules-file";
import {
  createValidator,
  SaleValidator,
  validateSale,
  type RawSale,
  type ValidSale,
} from "../../../loader/rules/validate";

const RULES: RuleSet = parseRules(`min_price: 10.0
max_quantity: 100
required_fields: [product, price, quantity]
product_prefix: 'Halal'
max_decimals: 2
`);

const sale = (product: string, price: string, quantity: string): RawSale => ({ product, price, quantity });
const canonical = (product: string, price: string, quantity: string): ValidSale => ({
  product,
  price,
  quantity,
});
/** Asserts that `raw` is valid, with `sale` as its canonical text. */
const expectValid = (raw: RawSale, sale: ValidSale, rules = RULES) =>
  expect(validateSale(raw, rules)).to.deep.equal({ ok: true, sale });
const broken = (raw: RawSale, rules = RULES) => {
  const result = validateSale(raw, rules);
  return result.ok ? [] : result.broken;
};

describe("validate", () => {
  describe("the spec's sample rows", () => {
    it("accepts line 2 and returns canonical text", () => {
      expectValid(sale("Halal Laptop", "999.99", "2"), canonical("Halal Laptop", "999.99", "2"));
    });
    it("line 5 breaks required_fields only", () => {
      expect(broken(sale("", "29.99", "3"))).to.deep.equal(["required_fields"]);
    });
    it("line 6 breaks product_prefix and price_numeric", () => {
      expect(broken(sale("Monitor", "invalid", "2"))).to.deep.equal(["product_prefix", "price_numeric"]);
    });
    it("line 7 breaks product_prefix, min_price and max_quantity", () => {
      expect(broken(sale("Headphones", "5.00", "150"))).to.deep.equal([
        "product_prefix",
        "min_price",
        "max_quantity",
      ]);
    });
  });

  describe("numeric traps: raw strings are checked before values", () => {
    for (const price of [
      "NaN",
      "Infinity",
      "-Infinity",
      "1e3",
      "0x10",
      "12,50",
      "1_000",
      "10.5.1",
      "$10",
      "١٠",
    ]) {
      it(`"${price}" is not a price`, () => {
        expect(broken(sale("Halal X", price, "1"))).to.deep.equal(["price_numeric"]);
      });
    }
    it("an empty price breaks required_fields, not price_numeric or min_price (Number('') is 0)", () => {
      expect(broken(sale("Halal X", "", "1"))).to.deep.equal(["required_fields"]);
    });
    it("a whitespace-only price counts as empty", () => {
      expect(broken(sale("Halal X", "   ", "1"))).to.deep.equal(["required_fields"]);
    });
    for (const quantity of ["1.0", "1e2", "0x10", "2.5", "NaN", "1,000", "one"]) {
      it(`"${quantity}" is not a quantity`, () => {
        expect(broken(sale("Halal X", "10.00", quantity))).to.deep.equal(["quantity_integer"]);
      });
    }
    it("a price beyond REAL's range is not a price, instead of aborting the whole COPY", () => {
      expect(broken(sale("Halal X", "9".repeat(40), "1"))).to.deep.equal(["price_numeric"]);
    });
    it("the REAL range check is dropped when the price column is NUMERIC", () => {
      const wide = { ...RULES, columnTypes: { ...RULES.columnTypes, price: "NUMERIC" } };
      expect(broken(sale("Halal X", "9".repeat(40), "1"), wide)).to.deep.equal([]);
    });
  });

  describe("each rule", () => {
    it("enforces max_decimals on the raw text, trailing zeros included", () => {
      expect(broken(sale("Halal X", "10.999", "1"))).to.deep.equal(["max_decimals"]);
      expect(broken(sale("Halal X", "10.100", "1"))).to.deep.equal(["max_decimals"]);
      expect(broken(sale("Halal X", "10.10", "1"))).to.deep.equal([]);
    });
    it("accepts min_price exactly and rejects just below", () => {
      expect(broken(sale("Halal X", "10", "1"))).to.deep.equal([]);
      expect(broken(sale("Halal X", "9.99", "1"))).to.deep.equal(["min_price"]);
    });
    it("a negative price is numeric but below min_price", () => {
      expect(broken(sale("Halal X", "-5", "1"))).to.deep.equal(["min_price"]);
    });
    it("quantities must be positive", () => {
      expect(broken(sale("Halal X", "10", "0"))).to.deep.equal(["quantity_positive"]);
      expect(broken(sale("Halal X", "10", "-3"))).to.deep.equal(["quantity_positive"]);
    });
    it("accepts max_quantity exactly and rejects one more", () => {
      expect(broken(sale("Halal X", "10", "100"))).to.deep.equal([]);
      expect(broken(sale("Halal X", "10", "101"))).to.deep.equal(["max_quantity"]);
    });
    it("the prefix check is case-sensitive", () => {
      expect(broken(sale("halal X", "10", "1"))).to.deep.equal(["product_prefix"]);
      expect(broken(sale("HALAL X", "10", "1"))).to.deep.equal(["product_prefix"]);
    });
    it("reports every broken rule of a row, in rule order", () => {
      expect(broken(sale("Tea", "1.234", "0"))).to.deep.equal([
        "product_prefix",
        "min_price",
        "max_decimals",
        "quantity_positive",
      ]);
    });
    it("reports required_fields once however many fields are empty", () => {
      expect(broken(sale("", "", ""))).to.deep.equal(["required_fields"]);
    });
  });

  describe("normalisation", () => {
    it("trims surrounding whitespace before checking", () => {
      expectValid(sale("  Halal Tea ", " 12.50 ", " 7 "), canonical("Halal Tea", "12.50", "7"));
    });
    it("canonicalises signs and leading zeros", () => {
      expectValid(sale("Halal Tea", "+12.5", "007"), canonical("Halal Tea", "12.5", "7"));
    });
    it("leaves an empty optional field as NULL instead of rejecting it", () => {
      const optional = { ...RULES, requiredFields: ["product"] as const };
      expect(createValidator(optional)(sale("Halal Tea", "", ""))).to.deep.equal({
        ok: true,
        sale: { product: "Halal Tea", price: null, quantity: null },
      });
    });
  });

  describe("one SaleValidator across many rows, as the encoder uses it", () => {
    // Valid, invalid, to be trimmed and canonicalised, empty, at the limits: one CSV line each.
    const rows = `Halal Tea,12.50,7
Monitor,invalid,2
  Halal Dates ,+10,007
,,
Halal Rice,10,100
Halal Rice,9.99,101
Halal Oil,24.999,1
Halal Oil,24.99,1`
      .split("\n")
      .map((line) => line.split(",") as [string, string, string]);

    it("judges each row as a fresh validator would, whatever rows came before", () => {
      const shared = new SaleValidator(RULES);
      for (const row of [...rows, ...[...rows].reverse()]) {
        const broken = shared.check(...row);
        const fresh = validateSale(sale(...row), RULES);
        if (fresh.ok) {
          expect(broken, row.join(",")).to.equal(null);
          expect({ product: shared.product, price: shared.price, quantity: shared.quantity }).to.deep.equal(
            fresh.sale,
          );
        } else {
          expect(broken, row.join(",")).to.deep.equal(fresh.broken);
        }
      }
    });

    /** acceptsAsIs on one line of CSV text: the second comma's offset, or -1. */
    function acceptsAsIs(validator: SaleValidator, line: string): number {
      const bytes = Buffer.from(`${line}\n`);
      return validator.acceptsAsIs(bytes, 0, bytes.indexOf(","), bytes.length - 1);
    }

    it("acceptsAsIs takes only rows that check accepts with their text unchanged", () => {
      const shared = new SaleValidator(RULES);
      const taken = ["Halal Tea,12.50,7", "Halal 茶 Thé Tea,10,100", "Halal Oil,-0.5,1"].filter(
        (line) => acceptsAsIs(shared, line) !== -1,
      );
      // -0.5 is below min_price: declined, and check agrees that it is invalid.
      expect(taken).to.deep.equal(["Halal Tea,12.50,7", "Halal 茶 Thé Tea,10,100"]);
      expect(acceptsAsIs(shared, "Halal Tea,12.50,7")).to.equal("Halal Tea,12.50".length);
    });

    for (const [line, why] of [
      [" Halal Tea,12.50,7", "a space trim() would remove"],
      ["Halal Tea\u00a0,12.50,7", "a non-ASCII space at the product's end"],
      ["Halal Tea,+12.50,7", "a plus sign check drops"],
      ["Halal Tea,12.50,07", "a leading zero check drops"],
      ["Halal Tea,12.505,7", "too many decimals"],
      ["Halal Tea,12.50,", "an empty quantity"],
      [",12.50,7", "an empty product"],
      ["Halal Tea,12.50,7,x", "a fourth field"],
      ["Halal Tea,1234567890123456,7", "16 digits, past exact double arithmetic"],
      ["Halal Tea,12.50,12345678901", "an 11-digit quantity"],
    ] as const) {
      it(`acceptsAsIs declines ${why}, leaving the row to check`, () => {
        expect(acceptsAsIs(new SaleValidator(RULES), line)).to.equal(-1);
      });
    }
  });
});
