import { Writable } from "node:stream";
import { redact, secretsOf } from "../db/connection/connection-string";
import { oneLine, oneLinePerEntry, printable } from "../errors";
import { describeReject, summarize, type LoadReport, type ValidationReport } from "../rules/report";

/** The report on stdout: one JSON object, or the lines a person reads. */
export function render(report: ValidationReport | LoadReport, json: boolean): string {
  return json ? `${JSON.stringify(report)}\n` : humanReport(report);
}

function humanReport(report: ValidationReport | LoadReport): string {
  const lines = [`${printable(report.file)}: ${summarize(report)}`];
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
        ? `loaded ${report.loaded} rows into ${printable(report.table)}`
        : `${printable(report.table)} already holds these ${report.valid} rows; nothing written`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The passwords of every connection string the command line or environment holds, before anything is parsed. */
export function secretsFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const strings = [env.DATABASE_URL ?? ""];
  argv.forEach((arg, i) => {
    if (arg === "--database-url") strings.push(argv[i + 1] ?? "");
    else if (arg.startsWith("--database-url=")) strings.push(arg.slice("--database-url=".length));
  });
  return [...new Set(strings.flatMap((text) => secretsOf(text, env)))].sort((a, b) => b.length - a.length);
}

/** A guarded output stream, and what became of its writes. */
export interface Guarded {
  readonly stream: NodeJS.WriteStream;
  /** The first error writing to the underlying stream (EPIPE: its reader went away), or null. */
  failure(): NodeJS.ErrnoException | null;
  /** Waits for the writes under way, then stops listening to the underlying stream. */
  close(): Promise<void>;
}

/**
 * A stream that writes to `out` with `secrets` redacted (as rendered: see redaction.ts) and terminal controls
 * escaped. `entries`: each line written
 * is a log entry or message (the logger writes many at once), ended by a newline, never a bare CR.
 * A failed write (a closed pipe, a full disk) is recorded, not thrown, and what follows it is dropped: the
 * command goes on, and `main` decides what the failure means.
 */
export function guard(
  out: NodeJS.WritableStream,
  secrets: readonly string[],
  entries: boolean,
  beforeWrite: () => void,
): Guarded {
  let failed: NodeJS.ErrnoException | null = null;
  let inFlight = 0;
  const whenIdle: (() => void)[] = [];
  const onError = (error: NodeJS.ErrnoException) => void (failed ??= error);
  out.on("error", onError);
  const settle = () => {
    inFlight -= 1;
    if (inFlight === 0) for (const resolve of whenIdle.splice(0)) resolve();
  };
  const stream = new Writable({
    // Strings (the logger's 64 Ki characters of warnings, the report) arrive as strings: checked as they are,
    // instead of encoded by the stream and decoded back here.
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      if (failed) return done();
      const original = String(chunk);
      const text = redact(original, secrets);
      const safe = entries
        ? oneLinePerEntry(text)
        : text
            .split("\n")
            .map((line) => oneLine(line))
            .join("\n");
      beforeWrite();
      inFlight += 1;
      try {
        // Text that needed no change goes out as the bytes it came in, not encoded a second time.
        out.write(safe === original && typeof chunk !== "string" ? chunk : safe, (error) => {
          if (error) onError(error);
          settle();
        });
      } catch (error) {
        settle(); // a write that threw never calls back
        throw error;
      }
      done();
    },
  });
  return {
    stream: Object.assign(stream, {
      isTTY: (out as NodeJS.WriteStream).isTTY,
    }) as unknown as NodeJS.WriteStream,
    failure: () => failed,
    async close() {
      if (inFlight > 0) await new Promise<void>((resolve) => whenIdle.push(resolve));
      out.off("error", onError);
    },
  };
}

/** EPIPE: the reader of a pipe went away (`sales-db validate … | head`), which is its right, not an error of ours. */
export function readerGone(error: NodeJS.ErrnoException | null): boolean {
  return error?.code === "EPIPE";
}

/** Node's own warnings (pg's, for one) as one log-style line instead of a multi-line block. */
export function oneLineWarnings(stderr: NodeJS.WritableStream): () => void {
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  const onWarning = (warning: Error) => stderr.write(`sales-db: warning: ${oneLine(warning.message)}\n`);
  process.on("warning", onWarning);
  return () => {
    process.off("warning", onWarning);
    for (const listener of previous) process.on("warning", listener);
  };
}
