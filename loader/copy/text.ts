import type { ValidSale } from "../rules/validate";

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/**
 * One row in COPY text format: tab-separated, `\N` for NULL, backslash escapes. `plain` (the parser's promise
 * that no field holds a backslash, tab, CR or LF) skips the escape scan on the hot path.
 */
export function encodeCopyRow(sale: ValidSale, plain = false): string {
  return `${copyField(sale.product, plain)}\t${copyField(sale.price, plain)}\t${copyField(sale.quantity, plain)}\n`;
}

function copyField(value: string | null, plain: boolean): string {
  if (value === null) return "\\N";
  if (plain || !NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] ?? c);
}
