import { RULE_IDS, type RuleId } from "./validate";
import type { Column } from "./rules-file";
import { SalesDbError } from "../errors";
import type { Logger } from "../log";

/** A rejected row: where it is, which rules it broke, and what it held. */
export interface Reject {
  readonly line: number;
  readonly rules: RuleId[];
  readonly values: Partial<Record<Column, string>>;
  /** Set on ragged rows: how many fields the row had. */
  readonly fieldCount?: number;
}

/** What validation found. `sha256` covers the valid rows exactly as they are sent to COPY. */
export interface ValidationReport {
  readonly file: string;
  readonly valid: number;
  readonly rejected: number;
  readonly byRule: Record<RuleId, number>;
  readonly rejects: Reject[];
  /** Rejects counted but not listed, past the `maxRejects` cap (the log still shows each one). */
  readonly rejectsOmitted: number;
  readonly sha256: string;
}

/** How the valid rows travel to the server: COPY's binary format (each value in its type's binary form) or text. */
export type CopyFormat = "binary" | "text";

export interface LoadReport extends ValidationReport {
  readonly table: string;
  /** The COPY format this load sent the rows in; null when it ran no COPY (the file was the one last loaded). */
  readonly copyFormat: CopyFormat | null;
  /** Rows written by this run: 0 when the table already held exactly these rows. */
  readonly loaded: number;
  readonly changed: boolean;
  /**
   * False when the file was recognised by its sha256 as the one last loaded into the untouched table, and so not
   * read again: the counts are the recorded ones, and no rejects are listed (`sales-db validate` lists them).
   */
  readonly validated: boolean;
}

export function emptyByRule(): Record<RuleId, number> {
  return Object.fromEntries(RULE_IDS.map((rule) => [rule, 0])) as Record<RuleId, number>;
}

/** `line 6 [product_prefix, price_numeric]: product="Monitor" price="invalid" quantity="2"` */
export function describeReject(reject: Reject): string {
  const ragged = reject.fieldCount === undefined ? "" : ` (${reject.fieldCount} fields)`;
  const rules = reject.rules;
  let text = `line ${reject.line} [${rules.length === 1 ? rules[0] : rules.join(", ")}]${ragged}:`;
  // A plain loop: this formats every log line of a load (millions on a dirty file); entries/map/join cost 40% more.
  const values = reject.values;
  for (const column in values) text += ` ${column}=${jsonString(values[column as keyof typeof values])}`;
  return text;
}

/** What JSON.stringify escapes in a string: a quote, a backslash, a control character (and a lone surrogate). */
// eslint-disable-next-line no-control-regex
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `value` as JSON.stringify writes it, which a value with nothing to escape (most) gets for a third of the cost. */
function jsonString(value: string | undefined): string | undefined {
  return value === undefined || NEEDS_JSON_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** One-line summary: `3 valid, 3 rejected (required_fields 1, product_prefix 2, ...)`. */
export function summarize(report: ValidationReport): string {
  const rules = RULE_IDS.filter((rule) => report.byRule[rule] > 0).map(
    (rule) => `${rule} ${report.byRule[rule]}`,
  );
  return `${report.valid} valid, ${report.rejected} rejected${rules.length ? ` (${rules.join(", ")})` : ""}`;
}

/** Fails when the rejected share of data rows exceeds `maxShare`. */
export function checkRejectedShare(
  report: Pick<ValidationReport, "file" | "valid" | "rejected">,
  maxShare: number | undefined,
): void {
  if (maxShare === undefined) return;
  const total = report.valid + report.rejected;
  const rejectedShare = total === 0 ? 0 : report.rejected / total;
  if (rejectedShare > maxShare) {
    throw new SalesDbError(
      "gate",
      `${report.file}: ${report.rejected} of ${total} rows rejected (${(rejectedShare * 100).toFixed(1)}%), ` +
        `more than the allowed ${(maxShare * 100).toFixed(1)}%; nothing written`,
      { file: report.file },
    );
  }
}

/** Logs each rejected row as the spec's loader does, or nothing when warnings are off. */
export function rejectLogger(logger: Logger): ((reject: Reject) => void) | undefined {
  if (!logger.enabled("warning")) return undefined;
  return (reject) => logger.warning(`Invalid sale: ${describeReject(reject)}`);
}
