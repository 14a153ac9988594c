import { stat } from "node:fs/promises";
import { parseArgs } from "node:util";
import { runDemo } from "./demo";
import { isSalesDbError, SalesDbError } from "./errors";
import { loadSales } from "./load";
import { createLogger, rejectLogger, type Logger, type LogLevel } from "./log";
import { createProgressBar } from "./progress";
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
  sales-db demo     (starts an embedded PostgreSQL, loads data/sales.csv, prints the table)

Options:
  --json                 print one JSON report on stdout (logs stay on stderr)
  --max-rejects N        list at most N rejects in the report (default 10000, at most 100000; the log shows all)
  --max-rejected-share F fail when more than this share (0..1) of the rows is rejected
  -q, --quiet            log errors only        -v, --verbose   log debug detail
  --database-url         defaults to $DATABASE_URL

Exit status: 0 on success (even with rejected rows), 1 on a failed validation or load, 2 on bad usage.`;

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
  quiet: { type: "boolean", short: "q", default: false },
  verbose: { type: "boolean", short: "v", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Runs the `sales-db` command and returns its exit status. User errors are one line on stderr, never a stack. */
export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  const session: Session = {};
  try {
    return await run(argv, io, session);
  } catch (error) {
    session.logger?.flush?.(); // buffered warnings come before the error line
    if (isSalesDbError(error)) {
      io.stderr.write(`sales-db: ${error.message}\n`);
      return error.code === "usage" ? 2 : 1;
    }
    io.stderr.write(
      `sales-db: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 70;
  } finally {
    session.logger?.flush?.();
  }
}

/** What `main` must still reach when `run` fails: the logger, to flush its buffered warnings. */
interface Session {
  logger?: Logger;
}

async function run(argv: readonly string[], io: CliIo, session: Session): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined || command === "help") {
    io.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (positionals.length > 1) throw usage(`unexpected argument "${positionals[1]}"`);

  const level: LogLevel = values.quiet ? "error" : values.verbose ? "debug" : "info";
  const logger = (session.logger = createLogger(level, io.stderr));

  if (command === "demo") {
    await runDemo({ logger, out: io.stdout });
    return 0;
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

  const rules = await loadRules(rulesFile);
  const size = await stat(csv).then(
    (s) => s.size,
    () => 0,
  );
  const progress = createProgressBar(
    values.quiet || size < 16 << 20 ? 0 : size,
    io.stderr as NodeJS.WriteStream,
  );
  const common = {
    file: csv,
    rules,
    maxRejects,
    logger,
    onReject: rejectLogger(logger),
    onProgress: progress.update,
  };

  let report: ValidationReport | LoadReport;
  if (command === "validate") {
    logger.info(`Validating ${csv} against ${rulesFile}`);
    report = await validateFile(common);
    checkRejectedShare(report, maxShare);
  } else {
    const connectionString =
      values["database-url"] ?? io.env.DATABASE_URL ?? missing("--database-url (or DATABASE_URL)");
    report = await loadSales({
      ...common,
      maxRejectedShare: maxShare,
      connectionString,
      table: values.table,
      waitTimeoutMs: seconds("--wait-timeout", values["wait-timeout"], 30),
      lockTimeoutMs: seconds("--lock-timeout", values["lock-timeout"], 60),
    });
  }
  progress.done();
  logger.info(`${report.file}: ${summarize(report)}`);
  io.stdout.write(values.json ? `${JSON.stringify(report)}\n` : humanReport(report));
  return 0;
}

function humanReport(report: ValidationReport | LoadReport): string {
  const lines = [`${report.file}: ${summarize(report)}`];
  for (const reject of report.rejects) lines.push(`  ${describeReject(reject)}`);
  if (report.rejectsOmitted > 0) lines.push(`  … and ${report.rejectsOmitted} more (see the log)`);
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

function usage(message: string): SalesDbError {
  return new SalesDbError("usage", `${message} (see sales-db --help)`);
}

function missing(option: string): never {
  throw usage(`missing ${option}`);
}

/** The most rejects a report may list: they are held in memory, under the launcher's heap cap. */
const MAX_LISTED_REJECTS = 100_000;

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

function seconds(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback * 1000;
  const value = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || value <= 0) throw usage(`${option} must be a positive number of seconds`);
  return value * 1000;
}
