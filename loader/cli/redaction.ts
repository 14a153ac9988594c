import { redact } from "../db/connection/connection-string";
import { printable } from "../errors";
import type { LoadReport, Reject, ValidationReport } from "../rules/report";

/**
 * Redaction of the password, applied to values before they are rendered. The report (stdout, text or JSON) is
 * redacted value by value: the strings that come from outside (the file and table names, the rejected rows'
 * values) lose the password, and nothing of the report's own (counts, hashes, rule ids, JSON's `true`) can
 * change, whatever the password. The log and error lines on stderr are prose that quotes outside strings in
 * more ways (a server's message, a value in JSON): they are redacted again as rendered, the password in every
 * escaped form they use.
 */
export interface Redaction {
  /** `text` with every secret replaced by `***`. */
  value(text: string): string;
  /** A reject with its values redacted. */
  reject(reject: Reject): Reject;
  /** A report with its outside strings redacted. */
  report<T extends ValidationReport | LoadReport>(report: T): T;
  /** Every form a secret takes in rendered prose: as typed, escaped for JSON, escaped for a terminal. */
  readonly rendered: readonly string[];
}

export function redaction(secrets: readonly string[]): Redaction {
  const value = (text: string) => redact(text, secrets);
  /** Whether any secret is in `text`. */
  const holdsSecret = (text: string | undefined) =>
    text !== undefined && secrets.some((s) => text.includes(s));
  const reject = (original: Reject): Reject => {
    // A reject is redacted for each WARNING line of a load (a million on a dirty file): one holding no secret,
    // nearly every one, is returned as it is, not copied (a tenth of logging's cost in a profile of 3M rows).
    let holds = false;
    for (const column in original.values) {
      if (holdsSecret(original.values[column as keyof Reject["values"]])) {
        holds = true;
        break;
      }
    }
    if (!holds) return original;
    const values: Reject["values"] = {};
    for (const [column, text] of Object.entries(original.values)) {
      values[column as keyof Reject["values"]] = text === undefined ? text : value(text);
    }
    return { ...original, values };
  };
  const forms = new Set<string>();
  for (const secret of secrets) {
    const json = JSON.stringify(secret).slice(1, -1);
    for (const form of [secret, json, printable(secret), printable(json)]) forms.add(form);
  }
  return {
    value,
    reject,
    report: (report) => ({
      ...report,
      file: value(report.file),
      ...("table" in report ? { table: value(report.table) } : {}),
      rejects: report.rejects.map(reject),
    }),
    rendered: [...forms].sort((a, b) => b.length - a.length),
  };
}
