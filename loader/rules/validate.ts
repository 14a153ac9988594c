import { priceFitter, type PriceFits } from "./price-range";
import { COMMA, DOT, MINUS, NINE, PLUS, ZERO } from "../ascii";
import { POW10 } from "./powers-of-ten";
import type { Column, RuleSet } from "./rules-file";

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

export type Validation =
  { readonly ok: true; readonly sale: ValidSale } | { readonly ok: false; readonly broken: RuleId[] };

/** The scanned shape of a decimal literal; `value` is NaN when the text is not one. */
interface Decimal {
  value: number;
  decimals: number;
}

/**
 * Reads `[+-]digits[.digits]` (or `.digits`) and nothing else: no exponent, hex, NaN, Infinity, digit
 * separators or decimal comma. Up to 15 significant digits the value is mantissa / 10^decimals, which IEEE
 * division rounds exactly as a decimal parse would (Clinger's fast path); longer literals fall back to Number.
 */
function scanDecimal(text: string, out: Decimal, allowFraction: boolean): void {
  const length = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === PLUS || first === MINUS) {
    negative = first === MINUS;
    i = 1;
  }
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === DOT && decimals < 0 && allowFraction) {
      decimals = 0;
    } else {
      out.value = NaN;
      return;
    }
  }
  if (digits === 0) {
    out.value = NaN;
    return;
  }
  out.decimals = decimals < 0 ? 0 : decimals;
  const magnitude = digits <= 15 ? mantissa / (POW10[out.decimals] as number) : Math.abs(Number(text));
  out.value = negative ? -magnitude : magnitude;
}

/** A printable ASCII character other than space: text that trim() leaves alone at either end. */
function isGraphicAscii(byte: number | undefined): boolean {
  return byte !== undefined && byte > 32 && byte < 127;
}

/** `trim()`, skipped when both ends are plainly printable ASCII (the common case, and trim allocates). */
function trimmed(text: string): string {
  const length = text.length;
  if (length === 0) return text;
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(length - 1);
  return first > 32 && first < 127 && last > 32 && last < 127 ? text : text.trim();
}

/**
 * A compiled rule set. `check` is the allocation-free hot path used by the encoder: it returns null for a valid
 * row (whose canonical text is then in `product`, `price` and `quantity`) or every rule the row breaks.
 * Raw strings are checked before their values, so `Number("")`-style coercions never decide validity.
 */
export class SaleValidator {
  product: string | null = null;
  price: string | null = null;
  quantity: string | null = null;
  private readonly requireProduct: boolean;
  private readonly requirePrice: boolean;
  private readonly requireQuantity: boolean;
  private readonly productPrefix: string;
  private readonly minPrice: number;
  private readonly maxDecimals: number;
  private readonly maxQuantity: number;
  /** Whether the price column stores a price: one it cannot would abort the whole COPY (see price-range.ts). */
  private readonly priceFits: PriceFits;
  /** Reused scratch space, so checking a row allocates nothing. */
  private readonly scan: Decimal = { value: 0, decimals: 0 };
  /** `productPrefix` as UTF-8, for `acceptsAsIs`. */
  private readonly prefixBytes: Buffer;
  /** The price (digits / 10^decimals) and quantity of the line `acceptsAsIs` last accepted, as it read them. */
  acceptedPriceDigits = 0;
  acceptedPriceDecimals = 0;
  acceptedPriceNegative = false;
  acceptedQuantity = 0;

  constructor(rules: RuleSet) {
    this.requireProduct = rules.requiredFields.includes("product");
    this.requirePrice = rules.requiredFields.includes("price");
    this.requireQuantity = rules.requiredFields.includes("quantity");
    this.productPrefix = rules.productPrefix;
    this.minPrice = rules.minPrice;
    this.maxDecimals = rules.maxDecimals;
    this.maxQuantity = rules.maxQuantity;
    this.priceFits = priceFitter(rules.columnTypes.price);
    this.prefixBytes = Buffer.from(rules.productPrefix, "utf8");
  }

  /**
   * The byte-level fast path, for a quote-free, escape-free line of UTF-8 checked bytes whose product field is
   * [start, firstComma) and which ends at `end`: returns where the second comma is when the line holds exactly three
   * fields that make a valid row whose canonical text is the field text itself (so the line's bytes, commas made
   * tabs, are its COPY text), else -1, meaning "not sure": `check` then decides. Only the common shape is accepted
   * (no surrounding spaces, no sign but a minus on the price, no leading zero on the quantity, no empty field, at
   * most 15 digits), where this agrees with `check`; the encoder's differential test holds the two together.
   * An accepted line's values are left in `accepted*`, for a binary COPY.
   */
  acceptsAsIs(bytes: Buffer, start: number, firstComma: number, end: number): number {
    // A product trim() would change starts or ends with a space, or with a non-ASCII byte (U+00A0, U+3000...).
    if (firstComma <= start || !isGraphicAscii(bytes[start]) || !isGraphicAscii(bytes[firstComma - 1]))
      return -1;
    const prefix = this.prefixBytes;
    if (firstComma - start < prefix.length) return -1;
    for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return -1;

    let i = firstComma + 1;
    const negative = bytes[i] === MINUS;
    if (negative) i++;
    let mantissa = 0;
    let digits = 0;
    let decimals = -1;
    for (; i < end; i++) {
      const c = bytes[i] as number;
      if (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
        if (decimals >= 0) decimals++;
      } else if (c === DOT && decimals < 0) {
        decimals = 0;
      } else {
        break;
      }
    }
    const secondComma = i;
    if (bytes[secondComma] !== COMMA || secondComma >= end || digits === 0 || digits > 15) return -1;
    const magnitude = decimals > 0 ? mantissa / (POW10[decimals] as number) : mantissa;
    if ((negative ? -magnitude : magnitude) < this.minPrice || decimals > this.maxDecimals) return -1;

    const digitsOfQuantity = end - secondComma - 1;
    const first = bytes[secondComma + 1] as number;
    if (digitsOfQuantity < 1 || digitsOfQuantity > 10 || first <= ZERO || first > NINE) return -1;
    let quantity = 0;
    for (i = secondComma + 1; i < end; i++) {
      const c = bytes[i] as number;
      if (c < ZERO || c > NINE) return -1; // a third comma included
      quantity = quantity * 10 + (c - ZERO);
    }
    if (quantity > this.maxQuantity) return -1;
    this.acceptedPriceDigits = mantissa;
    this.acceptedPriceDecimals = decimals > 0 ? decimals : 0;
    this.acceptedPriceNegative = negative;
    this.acceptedQuantity = quantity;
    return secondComma;
  }

  check(rawProduct: string, rawPrice: string, rawQuantity: string): RuleId[] | null {
    const product = trimmed(rawProduct);
    const price = trimmed(rawPrice);
    const quantity = trimmed(rawQuantity);
    const scan = this.scan;
    let broken: RuleId[] | null = null;

    if (
      (this.requireProduct && product === "") ||
      (this.requirePrice && price === "") ||
      (this.requireQuantity && quantity === "")
    ) {
      broken = ["required_fields"];
    }

    if (product !== "" && !product.startsWith(this.productPrefix)) (broken ??= []).push("product_prefix");

    let priceText: string | null = null;
    if (price !== "") {
      scanDecimal(price, scan, true);
      const value = scan.value;
      if (Number.isNaN(value) || !this.priceFits(price, value)) {
        (broken ??= []).push("price_numeric");
      } else {
        if (value < this.minPrice) (broken ??= []).push("min_price");
        if (scan.decimals > this.maxDecimals) (broken ??= []).push("max_decimals");
        priceText = price.charCodeAt(0) === PLUS ? price.slice(1) : price;
      }
    }

    let quantityText: string | null = null;
    if (quantity !== "") {
      scanDecimal(quantity, scan, false);
      const value = scan.value;
      if (Number.isNaN(value)) {
        (broken ??= []).push("quantity_integer");
      } else {
        if (value <= 0) (broken ??= []).push("quantity_positive");
        else if (value > this.maxQuantity) (broken ??= []).push("max_quantity");
        // Already canonical unless it has a sign or leading zero.
        const first = quantity.charCodeAt(0);
        quantityText = first > ZERO && first <= NINE ? quantity : String(value);
      }
    }

    if (broken) return broken;
    this.product = product === "" ? null : product;
    this.price = priceText;
    this.quantity = quantityText;
    return null;
  }
}

/** Validates one row: every rule it breaks, or its canonical values. */
export function validateSale(raw: RawSale, rules: RuleSet): Validation {
  return createValidator(rules)(raw);
}

/** A pure validator function over a compiled rule set. */
export function createValidator(rules: RuleSet): (raw: RawSale) => Validation {
  const validator = new SaleValidator(rules);
  return (raw) => {
    const broken = validator.check(raw.product, raw.price, raw.quantity);
    if (broken) return { ok: false, broken };
    return {
      ok: true,
      sale: { product: validator.product, price: validator.price, quantity: validator.quantity },
    };
  };
}
