import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { redact, secretsOf } from "./connect";
import { runDemo } from "./demo";
import { firstLine, isSalesDbError, oneLine, oneLinePerEntry, SalesDbError, type ErrorCode } from "./errors";
import { openInput } from "./input";
import { loadSales, MAX_LOCK_TIMEOUT_MS } from "./load";
import { createLogger, rejectLogger, type Logger, type LogLevel } from "./log";
import { createProgressBar, type ProgressBar } from "./progress";
import {
  checkRejectedShare,
  describeReject,
  summarize,
  type LoadReport,
  type ValidationReport,
} from "./report";
import { loadRules } from "./rules";
import { validateFile } from "./sales-stream";

const USAGE = `Usage:
  sales-db validate --csv FILE --rules FILE [--json]
  sales-db load     --csv FILE --rules FILE [--database-url URL] [--table sales] [--json]
                    [--wait-timeout SECONDS] [--lock-timeout SECONDS]
                    [--replace-foreign-table] [--allow-empty]
  sales-db demo     (starts an embedded PostgreSQL, loads data/sales.csv, prints the table)

Options:
  --json                   print one JSON report on stdout (logs stay on stderr)
  --max-rejects N          list at most N rejects in the report (default 10000, at most 100000; the log shows all)
  --max-rejected-share F   fail when more than this share (0..1) of the rows is rejected
  --database-url URL       a libpq connection string (URL or key=value); defaults to $DATABASE_URL
  --replace-foreign-table  replace the table even though sales-db did not load it
  --allow-empty            load even when no row is valid and the table holds rows (it ends up empty)
  -q, --quiet              log errors only        -v, --verbose   log debug detail

Exit status: 0 success (even with rejected rows, or nothing to write); 1 the input, the rules, a check or the
database failed, and nothing was written; 2 bad usage; 70 internal error (a bug).`;

/** Exit statuses, as the README documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  csv: { type: "string" },
  rules: { type: "string" },
  "database-url": { type: "string" },
  table: { type: "string", default: "sales" },
  json: { type: "boolean", default: false },
  "max-rejects": { type: "string" },
  "max-rejected-share": { type: "string" },
  "wait-timeout": { type: "string" },
  "lock-timeout": { type: "string" },
  "replace-foreign-table": { type: "boolean", default: false },
  "allow-empty": { type: "boolean", default: false },
  quiet: { type: "boolean", short: "q", default: false },
  verbose: { type: "boolean", short: "v", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** What a user can do about a refusal, in this command's own terms. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  foreign_table: "pass --replace-foreign-table to replace it anyway, or load into another --table",
  empty_result: "pass --allow-empty to empty it anyway",
  db_lock_timeout: "--lock-timeout sets how long to wait",
};

/**
 * Runs the `sales-db` command and returns its exit status. Every line it prints is one line, free of terminal
 * control characters and of the connection's password; a failure is one line on stderr, never a stack.
 */
export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  const secrets = secretsFromArgs(argv, io.env);
  const session: Session = { raw: io.stderr as NodeJS.WriteStream, bar: null };
  const stderr = guard(io.stderr, secrets, true, () => session.bar?.clear());
  const stdout = guard(io.stdout, secrets, false, () => undefined);
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  const restoreWarnings = oneLineWarnings(stderr);
  try {
    return await run(argv, { ...io, stdout, stderr }, session);
  } catch (error) {
    session.logger?.flush?.(); // buffered warnings come before the error line
    session.bar?.clear();
    if (isSalesDbError(error)) {
      const hint = HINTS[error.code];
      stderr.write(`sales-db: ${oneLine(error.message)}${hint ? `; ${hint}` : ""}\n`);
      return error.code === "usage" ? EXIT.usage : EXIT.failed;
    }
    const detail = error instanceof Error ? error.message : String(error);
    stderr.write(`sales-db: internal error: ${firstLine(detail)} (a bug; -v shows where)\n`);
    if (verbose && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
    return EXIT.internal;
  } finally {
    session.logger?.flush?.();
    restoreWarnings();
  }
}

/** What `main` must still reach when `run` fails: the real stderr and the bar drawn on it, and the logger's buffer. */
interface Session {
  readonly raw: NodeJS.WriteStream;
  bar: ProgressBar | null;
  logger?: Logger;
}

async function run(argv: readonly string[], io: CliIo, session: Session): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage(oneLine((error as Error).message));
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined || command === "help") {
    io.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? EXIT.usage : EXIT.ok;
  }
  if (positionals.length > 1) throw usage(`unexpected argument "${positionals[1]}"`);

  const level: LogLevel = values.quiet ? "error" : values.verbose ? "debug" : "info";
  const logger = (session.logger = createLogger(level, io.stderr));

  if (command === "demo") {
    await runDemo({ logger, out: io.stdout });
    return EXIT.ok;
  }
  if (command !== "validate" && command !== "load") throw usage(`unknown command "${command}"`);

  const csv = values.csv ?? missing("--csv");
  const rulesFile = values.rules ?? missing("--rules");
  const maxRejects =
    values["max-rejects"] === undefined
      ? undefined
      : wholeNumber("--max-rejects", values["max-rejects"], MAX_LISTED_REJECTS);
  const maxShare =
    values["max-rejected-share"] === undefined
      ? undefined
      : share("--max-rejected-share", values["max-rejected-share"]);
  const connection =
    command === "load"
      ? {
          connectionString: databaseUrl(values["database-url"], io.env),
          waitTimeoutMs: seconds("--wait-timeout", values["wait-timeout"], 30),
          lockTimeoutMs: seconds("--lock-timeout", values["lock-timeout"], 60, MAX_LOCK_TIMEOUT_MS / 1000),
        }
      : null;

  const rules = await loadRules(rulesFile);
  // Opened and checked (missing, unreadable, a directory) before anything else; a FIFO waits for its writer here.
  const input = await openInput(csv);
  try {
    const bar = createProgressBar(
      values.quiet || !input.regular || input.size < 16 << 20 ? 0 : input.size,
      session.raw,
    );
    session.bar = bar;
    const common = {
      file: csv,
      rules,
      maxRejects,
      logger,
      onReject: rejectLogger(logger),
      onProgress: bar.update,
    };
    let output: string;
    if (command === "validate") {
      logger.info(`Validating ${csv} against ${rulesFile}`);
      const report = await validateFile(common, input.stream());
      checkRejectedShare(report, maxShare);
      output = render(report, values.json);
    } else {
      let rendered = "";
      await loadSales({
        ...common,
        ...(connection as NonNullable<typeof connection>),
        maxRejectedShare: maxShare,
        table: values.table,
        replaceForeignTable: values["replace-foreign-table"],
        allowEmpty: values["allow-empty"],
        // Rendered before COMMIT: nothing that can fail is left for after it.
        onReport: (report) => (rendered = render(report, values.json)),
      });
      output = rendered;
    }
    bar.done();
    io.stdout.write(output);
    return EXIT.ok;
  } finally {
    await input.close();
  }
}

function render(report: ValidationReport | LoadReport, json: boolean): string {
  return json ? `${JSON.stringify(report)}\n` : humanReport(report);
}

function humanReport(report: ValidationReport | LoadReport): string {
  const lines = [`${report.file}: ${summarize(report)}`];
  for (const reject of report.rejects) lines.push(`  ${describeReject(reject)}`);
  if ("validated" in report && !report.validated) {
    lines.push(`  (the file is the one last loaded: rejects are not listed; sales-db validate lists them)`);
  } else if (report.rejectsOmitted > 0) {
    lines.push(`  … and ${report.rejectsOmitted} more (see the log)`);
  }
  lines.push(`sha256 of valid rows: ${report.sha256}`);
  if ("table" in report) {
    lines.push(
      report.changed
        ? `loaded ${report.loaded} rows into ${report.table}`
        : `${report.table} already holds these ${report.valid} rows; nothing written`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** `--database-url`, else a non-empty `$DATABASE_URL`. */
function databaseUrl(option: string | undefined, env: NodeJS.ProcessEnv): string {
  if (option !== undefined) {
    if (option.trim() === "") throw usage("--database-url is empty");
    return option;
  }
  const fromEnv = env.DATABASE_URL;
  if (fromEnv === undefined || fromEnv.trim() === "")
    return missing("--database-url (or a non-empty DATABASE_URL)");
  return fromEnv;
}

/** The passwords of every connection string the command line or environment holds, before anything is parsed. */
function secretsFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const strings = [env.DATABASE_URL ?? ""];
  argv.forEach((arg, i) => {
    if (arg === "--database-url") strings.push(argv[i + 1] ?? "");
    else if (arg.startsWith("--database-url=")) strings.push(arg.slice("--database-url=".length));
  });
  return [...new Set(strings.flatMap((text) => secretsOf(text, env)))].sort((a, b) => b.length - a.length);
}

/**
 * A stream that writes to `out` with secrets redacted and terminal controls escaped. `entries`: each line written
 * is a log entry or message (the logger writes many at once), ended by a newline, never a bare CR.
 */
function guard(
  out: NodeJS.WritableStream,
  secrets: readonly string[],
  entries: boolean,
  beforeWrite: () => void,
): NodeJS.WriteStream {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = redact(String(chunk), secrets);
      beforeWrite();
      out.write(
        entries
          ? oneLinePerEntry(text)
          : text
              .split("\n")
              .map((line) => oneLine(line))
              .join("\n"),
      );
      done();
    },
  });
  return Object.assign(stream, { isTTY: (out as NodeJS.WriteStream).isTTY }) as unknown as NodeJS.WriteStream;
}

/** Node's own warnings (pg's, for one) as one log-style line instead of a multi-line block. */
function oneLineWarnings(stderr: NodeJS.WritableStream): () => void {
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  const onWarning = (warning: Error) => stderr.write(`sales-db: warning: ${oneLine(warning.message)}\n`);
  process.on("warning", onWarning);
  return () => {
    process.off("warning", onWarning);
    for (const listener of previous) process.on("warning", listener);
  };
}

function usage(message: string): SalesDbError {
  return new SalesDbError("usage", `${message} (see sales-db --help)`);
}

function missing(option: string): never {
  throw usage(`missing ${option}`);
}

/** The most rejects a report may list: they are held in memory, under the launcher's heap cap. */
const MAX_LISTED_REJECTS = 100_000;
/** setTimeout's limit, in seconds: a longer wait would fire at once. */
const MAX_WAIT_SECONDS = 2_147_483;

function wholeNumber(option: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max)
    throw usage(`${option} must be a whole number up to ${max}, got "${text}"`);
  return Number(text);
}

function share(option: string, text: string): number {
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || value > 1)
    throw usage(`${option} must be a number from 0 to 1, got "${text}"`);
  return value;
}

function seconds(option: string, text: string | undefined, fallback: number, max = MAX_WAIT_SECONDS): number {
  if (text === undefined) return fallback * 1000;
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || value * 1000 < 1 || value > max) {
    throw usage(`${option} must be a number of seconds from 0.001 to ${max}, got "${text}"`);
  }
  return value * 1000;
}
