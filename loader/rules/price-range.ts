/**
 * Which prices a column type stores, decided on the literal as PostgreSQL parses it, so that a valid row never
 * aborts the COPY and a price the column stores is never rejected.
 *
 * - REAL: float4in rounds to the nearest float4 and refuses only what rounds to infinity, that is a magnitude of
 *   at least 2^128 - 2^103, halfway between FLT_MAX and 2^128 (a tie rounds to even: up). FLT_MAX itself, as
 *   PostgreSQL prints it (3.4028235e+38, here 340282350000000000000000000000000000000), is stored.
 * - DOUBLE PRECISION: float8in rounds as JavaScript's Number does: a finite Number is a stored price.
 * - NUMERIC: any decimal of up to 131,072 digits before the point and 16,383 after, beyond any double.
 */
export type PriceFits = (text: string, value: number) => boolean;

/** 2^128 - 2^103: the least magnitude float4in refuses. Exactly representable as a double. */
const REAL_OVERFLOW = 2 ** 128 - 2 ** 103;
const REAL_OVERFLOW_DIGITS = 340282356779733661637539395458142568448n;
const NUMERIC_INTEGER_DIGITS = 131_072;
const NUMERIC_FRACTION_DIGITS = 16_383;

/** The check for a price column of `type` (REAL, DOUBLE PRECISION or NUMERIC, as the rules spell them). */
export function priceFitter(type: string): PriceFits {
  if (type === "REAL") return fitsReal;
  if (type === "NUMERIC") return fitsNumeric;
  return (_text, value) => Number.isFinite(value);
}

/**
 * `value` is the literal's nearest double, which is REAL_OVERFLOW exactly for literals on either side of it: only
 * then are the literal's own digits compared.
 */
function fitsReal(text: string, value: number): boolean {
  const magnitude = Math.abs(value);
  if (magnitude !== REAL_OVERFLOW) return magnitude < REAL_OVERFLOW;
  const integer = /^[+-]?(\d*)/.exec(text)?.[1] ?? "";
  return BigInt(integer === "" ? "0" : integer) < REAL_OVERFLOW_DIGITS;
}

function fitsNumeric(text: string): boolean {
  // A literal this short cannot have too many digits on either side.
  if (text.length <= NUMERIC_FRACTION_DIGITS) return true;
  const [, integer = "", fraction = ""] = /^[+-]?0*(\d*)(?:\.(\d*))?$/.exec(text) ?? [];
  return integer.length <= NUMERIC_INTEGER_DIGITS && fraction.length <= NUMERIC_FRACTION_DIGITS;
}
