import { MINUS, PLUS } from "../../ascii";
import { POW10 } from "../../rules/powers-of-ten";

/**
 * The floats PostgreSQL stores for a decimal literal, computed here so that a binary COPY sends exactly them.
 * `float8in` is strtod and `float4in` is strtof: each rounds the exact decimal value once, to nearest, ties to even.
 * JavaScript's Number() rounds to the nearest double just as strtod does. `Math.fround(Number(text))` is not strtof:
 * it rounds twice, and differs when the double lies exactly on a float32 midpoint that the decimal value is not on
 * (`16777217.000000001` is above the midpoint between 2^24 and 2^24 + 2, but its nearest double is the midpoint,
 * which then rounds to the even 2^24). Those ties are settled here by exact integer arithmetic on the digits.
 */

const TWO_24 = 2 ** 24;
/** Where float32 rounds to infinity: one step past FLT_MAX, as a double. */
const TWO_128 = 2 ** 128;
const FLOAT32_INFINITY_BITS = 0x7f800000;

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);
const float64 = new Float64Array(1);
const float64Bits = new BigUint64Array(float64.buffer);

/**
 * The double nearest to `digits` / 10^decimals (`digits` an integer below 2^53, `decimals` at most 22): both
 * operands are exact doubles, so one IEEE division rounds the exact quotient once (Clinger's fast path).
 */
export function float64FromDigits(digits: number, decimals: number, negative: boolean): number {
  const magnitude = decimals === 0 ? digits : digits / (POW10[decimals] as number);
  return negative ? -magnitude : magnitude;
}

/** What float8in stores for a validated decimal literal (`[+-]digits[.digits]`): Number() rounds as strtod does. */
export function float64OfDecimal(text: string): number {
  return Number(text);
}

/**
 * What float4in stores for `digits` / 10^decimals (`digits` an integer below 2^53, so exact). Below 2^24 with at
 * most 10 decimals (every price of the common shape), both operands are exact floats, and a quotient rounded to
 * double and then to float is correctly rounded (double rounding is harmless when the wider format has at least
 * 2p + 2 bits: 53 >= 2 * 24 + 2, Figueroa 1995). Otherwise the double quotient is checked for a midpoint tie.
 */
export function float32FromDigits(digits: number, decimals: number, negative: boolean): number {
  if (digits < TWO_24 && decimals <= 10) {
    const magnitude = Math.fround(decimals === 0 ? digits : digits / (POW10[decimals] as number));
    return negative ? -magnitude : magnitude;
  }
  if (decimals > 22) return float32OfDigitString(String(digits), decimals, negative);
  const magnitude = roundToFloat32(float64FromDigits(digits, decimals, false), digits, decimals);
  return negative ? -magnitude : magnitude;
}

/** What float4in stores for a validated decimal literal: `[+-]digits[.digits]`, `digits.` or `.digits`. */
export function float32OfDecimal(text: string): number {
  const sign = text.charCodeAt(0);
  const unsigned = sign === MINUS || sign === PLUS ? text.slice(1) : text;
  const dot = unsigned.indexOf(".");
  const decimals = dot === -1 ? 0 : unsigned.length - dot - 1;
  const digitString = dot === -1 ? unsigned : unsigned.slice(0, dot) + unsigned.slice(dot + 1);
  return float32OfDigitString(digitString, decimals, sign === MINUS);
}

function float32OfDigitString(digitString: string, decimals: number, negative: boolean): number {
  const significant = digitString.replace(/^0+/, "");
  if (significant.length <= 15 && decimals <= 22) {
    return float32FromDigits(significant === "" ? 0 : Number(significant), decimals, negative);
  }
  // Number() of a literal is the double nearest to its exact value, which is what roundToFloat32 starts from.
  const magnitude = roundToFloat32(Number(`${significant}e-${decimals}`), BigInt(significant), decimals);
  return negative ? -magnitude : magnitude;
}

/**
 * The float32 nearest to the exact value x = `digits` / 10^decimals, given its nearest double `nearest` (x >= 0).
 * Float32 values and the midpoints between them are doubles, so rounding to double never crosses a midpoint: the
 * double rounds to the same float32 as x, except when it lands exactly on a midpoint that x is not on. Then the
 * side of the midpoint that x is on decides, compared exactly.
 */
function roundToFloat32(nearest: number, digits: number | bigint, decimals: number): number {
  const rounded = Math.fround(nearest);
  if (rounded === nearest) return rounded;
  float32[0] = rounded;
  const bits = float32Bits[0] as number;
  const below = rounded < nearest;
  const otherBits = below ? bits + 1 : bits - 1;
  const here = bits === FLOAT32_INFINITY_BITS ? TWO_128 : rounded;
  const other = otherBits === FLOAT32_INFINITY_BITS ? TWO_128 : float32At(otherBits);
  const midpoint = (here + other) / 2; // exact: both have 24-bit significands and adjacent exponents
  if (nearest !== midpoint) return rounded;
  const side = compareWithDouble(BigInt(digits), decimals, midpoint);
  if (side === 0) return rounded; // x is the midpoint itself: Math.fround's tie to even is strtof's
  return Math.fround(side > 0 ? Math.max(here, other) : Math.min(here, other));
}

function float32At(bits: number): number {
  float32Bits[0] = bits;
  return float32[0] as number;
}

/** The sign of digits / 10^decimals - `value`, for a finite positive double `value`, in exact integers. */
function compareWithDouble(digits: bigint, decimals: number, value: number): number {
  float64[0] = value;
  const bits = float64Bits[0] as bigint;
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // value = significand * 2^power
  const significand = exponent === 0 ? fraction : fraction | (1n << 52n);
  const power = exponent === 0 ? -1074 : exponent - 1075;
  // digits / 10^decimals <=> significand * 2^power, both sides multiplied by 10^decimals and 2^-power
  const left = power < 0 ? digits << BigInt(-power) : digits;
  const right = significand * 10n ** BigInt(decimals) * (power > 0 ? 1n << BigInt(power) : 1n);
  return left === right ? 0 : left > right ? 1 : -1;
}
