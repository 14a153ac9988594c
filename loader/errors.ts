/** Every failure the loader reports carries one of these codes. */
export type ErrorCode =
  | "usage" // bad command line
  | "file_unreadable" // the CSV or rules file cannot be opened or read, or is a directory
  | "too_large" // an input past a documented size limit (rules file, CSV record)
  | "rules_invalid" // config.yaml does not parse or breaks its schema
  | "csv_header" // missing, duplicate or unknown column, or no header at all
  | "csv_unclosed_quote" // a quoted field never closes
  | "csv_invalid_closing_quote" // text after a closing quote
  | "csv_invalid_opening_quote" // a quote inside a field that does not start with one
  | "csv_record_too_long" // one record holds more than the limit (usually a quote that never closes)
  | "csv_syntax" // any other CSV syntax error
  | "csv_encoding" // invalid UTF-8 or a NUL byte
  | "db_unreachable" // no connection before the wait timeout
  | "db_auth" // the server refused the credentials
  | "db_lock_timeout" // another load held the table too long
  | "db_error" // any other error reported by PostgreSQL
  | "commit_unconfirmed" // COMMIT was sent, but whether it took effect (or reached the synchronous standby) is not known
  | "copy_row_count" // the COPY stored another number of rows than the valid rows sent
  | "foreign_table" // the target table exists but sales-db did not load it
  | "untrusted_object" // the bookkeeping table or trigger function is another role's, or not as sales-db makes it
  | "empty_result" // the load would empty a table that holds rows
  | "kube_api" // the Kubernetes API is unreachable, refused us, or the port-forward through it died
  | "job_failed" // a Job or pod run in the cluster (a restore, an image check) failed, did not start or outlived its bound
  | "gate"; // the rejected share exceeds the configured maximum

export interface ErrorDetails {
  file?: string;
  line?: number;
  rule?: string;
  cause?: unknown;
}

/**
 * The one error class of the loader. `message` is a complete, single-line sentence meant for users;
 * the CLI prints it without a stack trace.
 */
export class SalesDbError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly line?: number;
  readonly rule?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "SalesDbError";
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.rule = details.rule;
  }
}

export function isSalesDbError(error: unknown): error is SalesDbError {
  return error instanceof SalesDbError;
}

/** A location prefix in the compiler style users know: `data/sales.csv:7`. */
export function where(file: string, line?: number): string {
  return line === undefined ? file : `${file}:${line}`;
}

/** The short reason of a low-level error: `ENOENT`, `ECONNREFUSED`, or the message. */
export function describe(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? firstLine(error.message);
  return String(error);
}

export function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
}

// C0 and C1 controls, DEL, line and paragraph separators and bidi overrides: what a terminal may act on.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

// What `oneLine` escapes in an entry: control characters other than LF, line and paragraph separators, bidi overrides.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_ENTRY = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const SPACE = /\s/;

/**
 * Log entries, each ended by LF, each made one trimmed line as `oneLine` makes it, blank ones dropped. The logger
 * writes warnings 64 Ki characters at a time, one per rejected row: a chunk that needs no change (the common case)
 * is recognised and passed on as it is, instead of being split and rebuilt line by line.
 */
export function oneLinePerEntry(text: string): string {
  if (plainEntries(text)) return text;
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => `${oneLine(line.trim())}\n`)
    .join("");
}

/**
 * Whether `oneLinePerEntry` would leave `text` as it is: it ends with a LF and holds nothing to escape, and no
 * whitespace sits at an entry's start or end (what trim() removes, blank entries included), which can only be next
 * to a LF. One scan for the characters, then a look at each LF's neighbours: as one regular expression with the
 * LF cases as alternatives, the scan took twice as long.
 */
function plainEntries(text: string): boolean {
  if (!text.endsWith("\n") || UNSAFE_IN_ENTRY.test(text) || SPACE.test(text.charAt(0))) return false;
  for (let lf = text.indexOf("\n"); lf !== -1; lf = text.indexOf("\n", lf + 1)) {
    if (SPACE.test(text.charAt(lf - 1)) || SPACE.test(text.charAt(lf + 1))) return false;
  }
  return true;
}

/** `text` as one line that a terminal prints verbatim: newlines become "; ", other controls \u escapes. */
export function oneLine(text: string): string {
  return printable(text.replace(/\s*[\r\n]+\s*/g, "; "));
}

/**
 * A name (a file, a table) as one line a terminal prints verbatim: every control character, line or paragraph
 * separator and bidi override as a \u escape, newlines too. Idempotent: an escape holds none of them.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
