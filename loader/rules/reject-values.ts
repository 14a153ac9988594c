import type { HeaderLayout } from "../csv/header";
import type { Reject } from "./report";

/** Longest raw value a reject keeps; longer ones are cut and marked with an ellipsis. */
const MAX_KEPT_CHARS = 1000;
/**
 * Raw characters all listed rejects may hold together; past it rejects are only counted (and logged). With the
 * per-value cap, this bounds the report's memory whatever --max-rejects and the field sizes are.
 */
export const MAX_KEPT_TOTAL = 2_000_000;

export function cut(value: string): string {
  return value.length > MAX_KEPT_CHARS ? `${value.slice(0, MAX_KEPT_CHARS)}…` : value;
}

/**
 * A copy of a reject that outlives its chunk. Fields may be slices of a larger decoded text (a batch of quoted
 * records), and a kept slice would keep all of it alive; a few hundred rejects across a large file would exhaust the
 * heap. Only listed rejects are copied: the log formats the others at once.
 */
export function kept(reject: Reject): Reject {
  const values: Record<string, string> = {};
  for (const [column, value] of Object.entries(reject.values)) values[column] = Buffer.from(value).toString();
  return { ...reject, values };
}

export function presentValues(fields: readonly string[], header: HeaderLayout): Reject["values"] {
  const values: Record<string, string> = {};
  for (const [column, index] of Object.entries(header.positions)) {
    const value = fields[index];
    if (value !== undefined) values[column] = cut(value);
  }
  return values;
}
