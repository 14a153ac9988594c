import type { Column, RuleSet } from "./rules";

/** Rule ids, in the order a row's broken rules are reported. `column_count` flags a ragged row. */
export const RULE_IDS = [
  "required_fields",
  "product_prefix",
  "price_numeric",
  "min_price",
  "max_decimals",
  "quantity_integer",
  "quantity_positive",
  "max_quantity",
  "column_count",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** One data row as it stands in the CSV, before trimming. */
export type RawSale = Readonly<Record<Column, string>>;

/** A valid row, as canonical text that PostgreSQL parses into the column types; null for an empty optional field. */
export interface ValidSale {
  readonly product: string | null;
  readonly price: string | null;
  readonly quantity: string | null;
}

export type Validation = { readonly ok: true; readonly sale: ValidSale } | { readonly ok: false; readonly broken: RuleId[] };

// Decimal literals only: no exponent, hex, NaN, Infinity or decimal comma. Group 1 or 2 holds the fraction digits.
const DECIMAL = /^[+-]?(?:\d+(?:\.(\d*))?|\.(\d+))$/;
const INTEGER = /^[+-]?\d+$/;
const REAL_MAX = 3.4028234663852886e38;

/**
 * Compiles a rule set into a pure row validator that returns every rule a row breaks.
 * Raw strings are checked before their values, so `Number("")`-style coercions never decide validity.
 */
export function createValidator(rules: RuleSet): (raw: RawSale) => Validation {
  const required = rules.requiredFields;
  const { productPrefix, minPrice, maxDecimals, maxQuantity } = rules;
  // A REAL column overflows beyond ~3.4e38, which would abort the whole COPY: treat such a value as not a price.
  const priceMax = rules.columnTypes.price === "REAL" ? REAL_MAX : Number.MAX_VALUE;

  return (raw) => {
    const product = raw.product.trim();
    const price = raw.price.trim();
    const quantity = raw.quantity.trim();
    const broken: RuleId[] = [];

    for (const column of required) {
      if ((column === "product" ? product : column === "price" ? price : quantity) === "") {
        broken.push("required_fields");
        break;
      }
    }

    if (product !== "" && !product.startsWith(productPrefix)) broken.push("product_prefix");

    let priceText: string | null = null;
    if (price !== "") {
      const match = DECIMAL.exec(price);
      const value = match ? Number(price) : NaN;
      if (!match || !(Math.abs(value) <= priceMax)) {
        broken.push("price_numeric");
      } else {
        if (value < minPrice) broken.push("min_price");
        if ((match[1] ?? match[2] ?? "").length > maxDecimals) broken.push("max_decimals");
        priceText = price.startsWith("+") ? price.slice(1) : price;
      }
    }

    let quantityText: string | null = null;
    if (quantity !== "") {
      if (!INTEGER.test(quantity)) {
        broken.push("quantity_integer");
      } else {
        const value = Number(quantity);
        if (value <= 0) broken.push("quantity_positive");
        else if (value > maxQuantity) broken.push("max_quantity");
        quantityText = String(value);
      }
    }

    if (broken.length > 0) return { ok: false, broken };
    return { ok: true, sale: { product: product === "" ? null : product, price: priceText, quantity: quantityText } };
  };
}

/** Validates one row; prefer `createValidator` in loops. */
export function validateSale(raw: RawSale, rules: RuleSet): Validation {
  return createValidator(rules)(raw);
}
