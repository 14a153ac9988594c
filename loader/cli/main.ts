import { parseCommandLine, USAGE, type CommandLine } from "./options";
import { guard, oneLineWarnings, readerGone, render, secretsFromArgs } from "./output";
import { redaction, type Redaction } from "./redaction";
import { describe, firstLine, isSalesDbError, oneLine, printable, type ErrorCode } from "../errors";
import type { AheadHash } from "../input/hash-ahead";
import { openInput } from "../input/input";
import { createLogger, type Logger } from "../log";
import { createProgressBar, type ProgressBar } from "./progress";
import { checkRejectedShare, rejectLogger, type Reject, type ValidationReport } from "../rules/report";
import { loadRules } from "../rules/rules-file";

// The modules that reach PostgreSQL and read CSV (pg, the loader, the reader) are required where they are used:
// an unchanged reload's hash runs in a child process while they load (see hash-ahead.ts).
/* eslint-disable @typescript-eslint/no-require-imports */
const load = () => require("../db/load") as typeof import("../db/load");
const demo = () => require("./demo") as typeof import("./demo");
const salesStream = () => require("../copy/sales-stream") as typeof import("../copy/sales-stream");
/* eslint-enable @typescript-eslint/no-require-imports */

/** Exit statuses, as the README documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unconfirmed: 3, internal: 70 } as const;

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
}

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
export async function main(
  argv: readonly string[],
  io: CliIo = process,
  ahead: AheadHash | null = null,
): Promise<number> {
  const redacted = redaction(secretsFromArgs(argv, io.env));
  const session: Session = {
    raw: io.stderr as NodeJS.WriteStream,
    bar: null,
    committed: false,
    ahead,
    redacted,
  };
  // stderr's prose is redacted again as rendered; stdout holds only the report, whose values are redacted.
  const guardedStderr = guard(io.stderr, redacted.rendered, true, () => session.bar?.clear());
  const guardedStdout = guard(io.stdout, [], false, () => undefined);
  const stderr = guardedStderr.stream;
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  const restoreWarnings = oneLineWarnings(stderr);
  let code: number;
  try {
    code = await run(
      parseCommandLine(argv, io.env),
      { ...io, stdout: guardedStdout.stream, stderr },
      session,
    );
  } catch (error) {
    code = failure(error, stderr, session, verbose);
  } finally {
    session.logger?.flush?.();
    restoreWarnings();
  }
  await guardedStdout.close();
  const lost = guardedStdout.failure();
  // A reader that stops reading (`| head`) takes what it wanted; any other failure lost the output.
  if (lost && !readerGone(lost)) {
    stderr.write(
      `sales-db: could not write to standard output (${describe(lost)})` +
        (session.committed
          ? "; the load itself completed\n"
          : "; check where it goes (disk space, permissions)\n"),
    );
    if (!session.committed && code === EXIT.ok) code = EXIT.failed;
  }
  await guardedStderr.close();
  return code;
}

/** The one stderr line for an error that ended the command, and its exit status. */
function failure(error: unknown, stderr: NodeJS.WritableStream, session: Session, verbose: boolean): number {
  session.logger?.flush?.(); // buffered warnings come before the error line
  session.bar?.clear();
  if (isSalesDbError(error)) {
    const hint = HINTS[error.code];
    stderr.write(`sales-db: ${oneLine(error.message)}${hint ? `; ${hint}` : ""}\n`);
    if (error.code === "commit_unconfirmed") return EXIT.unconfirmed;
    return error.code === "usage" ? EXIT.usage : EXIT.failed;
  }
  const detail = error instanceof Error ? error.message : String(error);
  stderr.write(`sales-db: internal error: ${firstLine(detail)} (a bug; -v shows where)\n`);
  if (verbose && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}

/** What `main` must still reach when `run` fails: the real stderr and the bar drawn on it, and the logger's buffer. */
interface Session {
  readonly raw: NodeJS.WriteStream;
  bar: ProgressBar | null;
  logger?: Logger;
  /** Set once a load has committed (or found nothing to write): nothing may fail the command after that. */
  committed: boolean;
  /** The CSV's hash, started by the launcher before this module loaded (hash-ahead.ts). */
  readonly ahead: AheadHash | null;
  readonly redacted: Redaction;
}

async function run(line: CommandLine, io: CliIo, session: Session): Promise<number> {
  if (line.command === "help") {
    io.stdout.write(`${USAGE}\n`);
    return line.asked ? EXIT.ok : EXIT.usage;
  }
  const logger = (session.logger = createLogger(line.level, io.stderr));
  if (line.command === "demo") {
    await demo().runDemo({ logger, out: io.stdout });
    return EXIT.ok;
  }

  const rules = await loadRules(line.rules);
  // Opened and checked (missing, unreadable, a directory) before anything else; a FIFO waits for its writer here.
  const input = await openInput(line.csv, undefined, session.ahead);
  try {
    const bar = createProgressBar(
      line.quiet || !input.regular || input.size < 16 << 20 ? 0 : input.size,
      session.raw,
    );
    session.bar = bar;
    const { redacted } = session;
    const logReject = rejectLogger(logger);
    const common = {
      file: printable(line.csv), // the name in messages; the report holds it as given (`shown`)
      rules,
      maxRejects: line.maxRejects,
      logger,
      onReject: logReject && ((reject: Reject) => logReject(redacted.reject(reject))),
      onProgress: bar.update,
    };
    /** The report as the user gave its names, with the password redacted from its values. */
    const shown = <T extends ValidationReport>(report: T): T =>
      redacted.report({ ...report, file: line.csv, ...("table" in report ? { table: line.table } : {}) });
    let output = "";
    if (line.connection === null) {
      logger.info(`Validating ${common.file} against ${printable(line.rules)}`);
      const report = await salesStream().validateFile(common, input.stream());
      checkRejectedShare(report, line.maxRejectedShare);
      output = render(shown(report), line.json);
    } else {
      await load().loadSales({
        ...common,
        ...line.connection,
        input, // opened once: the check above and the load read the same file
        maxRejectedShare: line.maxRejectedShare,
        table: line.table,
        replaceForeignTable: line.replaceForeignTable,
        allowEmpty: line.allowEmpty,
        copyFormat: line.copyFormat,
        // Rendered before COMMIT: nothing that can fail is left for after it.
        onReport: (report) => (output = render(shown(report), line.json)),
      });
      session.committed = true;
    }
    bar.done();
    io.stdout.write(output);
    return EXIT.ok;
  } finally {
    await input.close();
  }
}
