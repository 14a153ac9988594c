import { expect } from "chai";
import { parseRules } from "../../../loader/rules/rules-file";
import { validateSale } from "../../../loader/rules/validate";

/** The rules file of the sample, with `price` of the given column type and decimals enough for the literals. */
const rules = (type: string) =>
  parseRules(`min_price: -1e308
max_quantity: 100
required_fields: [product, price, quantity]
product_prefix: 'Halal'
max_decimals: 15
column_types: { price: ${type} }
`);
const priceBreaks = (type: string, price: string) => {
  const result = validateSale({ product: "Halal X", price, quantity: "1" }, rules(type));
  return result.ok ? [] : result.broken;
};

/** 2^128 - 2^103: the least magnitude PostgreSQL's float4in refuses (halfway from FLT_MAX to 2^128). */
const REAL_OVERFLOW = "340282356779733661637539395458142568448";

describe("price rules match what the price column stores", () => {
  it("REAL: FLT_MAX as PostgreSQL prints it, and every literal that rounds to it, is a price", () => {
    for (const price of [
      "340282350000000000000000000000000000000", // 3.4028235e+38
      "340282346638528859811704183484516925440", // FLT_MAX exactly
      "340282356779733661637539395458142568447.999",
      `-${"340282356779733661637539395458142568447"}`,
    ]) {
      expect(priceBreaks("real", price), price).to.deep.equal([]);
    }
  });

  it("REAL: from halfway to 2^128 on, which PostgreSQL refuses as out of range, it is not", () => {
    for (const price of [
      REAL_OVERFLOW,
      `${REAL_OVERFLOW}.000`,
      `-${REAL_OVERFLOW}`,
      "340282356779733661637539395458142568449",
      "9".repeat(40),
    ]) {
      expect(priceBreaks("real", price), price).to.deep.equal(["price_numeric"]);
    }
  });

  it("NUMERIC: a price beyond any double is a price, up to numeric's 131,072 digits before the point", () => {
    expect(priceBreaks("numeric", `1${"0".repeat(400)}`)).to.deep.equal([]);
    expect(priceBreaks("numeric", `9${"0".repeat(131_071)}.5`)).to.deep.equal([]);
    expect(priceBreaks("numeric", `000${"9".repeat(131_072)}`), "leading zeros are not digits").to.deep.equal(
      [],
    );
    expect(priceBreaks("numeric", `1${"0".repeat(131_072)}`)).to.deep.equal(["price_numeric"]);
  });

  it("DOUBLE PRECISION: what rounds to a finite double is a price, what overflows is not", () => {
    expect(priceBreaks("double precision", `17976931348623158${"0".repeat(292)}`)).to.deep.equal([]);
    expect(priceBreaks("double precision", `1${"0".repeat(309)}`)).to.deep.equal(["price_numeric"]);
  });
});
