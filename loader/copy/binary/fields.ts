import { float32FromDigits, float32OfDecimal, float64FromDigits, float64OfDecimal } from "./exact-float";

/** The price of a line the byte path took, as `SaleValidator.acceptsAsIs` read it: digits / 10^decimals. */
export interface AcceptedPrice {
  readonly acceptedPriceDigits: number;
  readonly acceptedPriceDecimals: number;
  readonly acceptedPriceNegative: boolean;
}

/**
 * How a price column's values are written in a COPY binary row (length word included), with exactly the value
 * the server's own input function gives the same text.
 */
export interface PriceField {
  /** The bytes the field takes, length word included. */
  readonly bytes: number;
  /** A byte-path price, from the digits `acceptsAsIs` read. */
  writeAccepted(view: DataView, pos: number, accepted: AcceptedPrice): number;
  /** A price from its canonical text. */
  writeText(view: DataView, pos: number, text: string): number;
}

/** How a quantity column's values (validated positive integers) are written. */
export interface QuantityField {
  readonly bytes: number;
  write(view: DataView, pos: number, value: number): number;
}

/**
 * REAL (4 bytes): the float32 float4in (strtof) gives, computed exactly (exact-float.ts); DOUBLE PRECISION
 * (8 bytes): the double float8in (strtod) gives.
 */
class FloatField implements PriceField {
  readonly bytes: number;
  constructor(private readonly size: 4 | 8) {
    this.bytes = 4 + size;
  }
  writeAccepted(view: DataView, pos: number, accepted: AcceptedPrice): number {
    const digits = accepted.acceptedPriceDigits;
    const decimals = accepted.acceptedPriceDecimals;
    const negative = accepted.acceptedPriceNegative;
    view.setInt32(pos, this.size);
    if (this.size === 4) view.setFloat32(pos + 4, float32FromDigits(digits, decimals, negative));
    else view.setFloat64(pos + 4, float64FromDigits(digits, decimals, negative));
    return pos + this.bytes;
  }
  writeText(view: DataView, pos: number, text: string): number {
    view.setInt32(pos, this.size);
    if (this.size === 4) view.setFloat32(pos + 4, float32OfDecimal(text));
    else view.setFloat64(pos + 4, float64OfDecimal(text));
    return pos + this.bytes;
  }
}

class IntegerField implements QuantityField {
  readonly bytes = 8;
  write(view: DataView, pos: number, value: number): number {
    view.setInt32(pos, 4);
    view.setInt32(pos + 4, value);
    return pos + 8;
  }
}

class BigintField implements QuantityField {
  readonly bytes = 12;
  write(view: DataView, pos: number, value: number): number {
    view.setInt32(pos, 8);
    view.setInt32(pos + 4, Math.floor(value / 2 ** 32)); // no BigInt per row: validated quantities are below 2^31
    view.setUint32(pos + 8, value >>> 0);
    return pos + 12;
  }
}

const PRICE_FIELDS: Readonly<Record<string, () => PriceField>> = {
  REAL: () => new FloatField(4),
  "DOUBLE PRECISION": () => new FloatField(8),
};
const QUANTITY_FIELDS: Readonly<Record<string, () => QuantityField>> = {
  INTEGER: () => new IntegerField(),
  BIGINT: () => new BigintField(),
};

/** The binary writer of a price column of SQL type `type` (as the rules spell it), or null if there is none. */
export function priceField(type: string): PriceField | null {
  return PRICE_FIELDS[type]?.() ?? null;
}

export function quantityField(type: string): QuantityField | null {
  return QUANTITY_FIELDS[type]?.() ?? null;
}
