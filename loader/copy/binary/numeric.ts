import { DOT, MINUS, PLUS, ZERO } from "../../ascii";

/**
 * A NUMERIC field of COPY binary from a validated decimal literal (`[+-]digits[.digits]`, `digits.`, `.digits`):
 * numeric_recv's layout, base-10000 digits aligned on the decimal point, without leading or trailing zero digits,
 * and the display scale the literal was written with (`12.50` keeps scale 2), which is what numeric_in stores for
 * the same text. Being decimal digits, it is exact.
 */

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
/** Length word, digit count, weight, sign and display scale. */
const HEADER_BYTES = 4 + 8;

/** The most bytes the field of a literal of `length` characters takes: each 4 digits (or fewer, at either end of the point) one 2-byte digit. */
export function numericFieldBound(length: number): number {
  return HEADER_BYTES + 2 * (Math.ceil(length / 4) + 2);
}

/** Base-10000 digits of the literal being written, reused (a literal's size is bounded by the CSV record limit). */
let groups = new Uint16Array(64);

/** Writes the field for `text[start, end)` at `pos` (room for numericFieldBound), and returns where it ends. */
export function writeNumeric(
  out: DataView,
  pos: number,
  text: Uint8Array,
  start: number,
  end: number,
): number {
  let i = start;
  const negative = text[i] === MINUS;
  if (negative || text[i] === PLUS) i++;
  let point = end;
  for (let j = i; j < end; j++) {
    if (text[j] === DOT) {
      point = j;
      break;
    }
  }
  while (i < point && text[i] === ZERO) i++;
  const decimals = point < end ? end - point - 1 : 0;
  const integerGroups = Math.ceil((point - i) / 4);
  const count = integerGroups + Math.ceil(decimals / 4);
  if (groups.length < count) groups = new Uint16Array(count);

  // The integer part from its first digit: the first group holds what is left over from groups of four.
  let group = 0;
  let value = 0;
  let inGroup = 4 - ((point - i) % 4 || 4);
  for (; i < point; i++) {
    value = value * 10 + ((text[i] as number) - ZERO);
    if (++inGroup === 4) {
      groups[group++] = value;
      value = 0;
      inGroup = 0;
    }
  }
  // The fraction from the point, its last group padded with zeros.
  for (i = point + 1; i < end; i++) {
    value = value * 10 + ((text[i] as number) - ZERO);
    if (++inGroup === 4) {
      groups[group++] = value;
      value = 0;
      inGroup = 0;
    }
  }
  if (inGroup > 0) groups[group++] = value * 10 ** (4 - inGroup);

  let first = 0;
  while (first < count && groups[first] === 0) first++;
  let last = count - 1;
  while (last >= first && groups[last] === 0) last--;
  const digits = last - first + 1;
  out.setInt32(pos, 8 + 2 * digits);
  out.setInt16(pos + 4, digits);
  out.setInt16(pos + 6, digits === 0 ? 0 : integerGroups - 1 - first);
  out.setUint16(pos + 8, negative && digits > 0 ? NUMERIC_NEG : NUMERIC_POS);
  out.setInt16(pos + 10, decimals);
  pos += HEADER_BYTES;
  for (let g = first; g <= last; g++, pos += 2) out.setUint16(pos, groups[g] as number);
  return pos;
}
