import { expect } from "chai";
import { spawn } from "node:child_process";
import { SAMPLE_CSV, SAMPLE_RULES } from "./files";
import type { TestDatabase } from "./postgres";

/** The built command, as `npx sales-db` runs it (`npm test` builds first). */
const BIN = "bin/sales-db.js";

/** A connection string no test server answers at: for failures that come before any connection. */
export const NO_SERVER = "postgres://u@127.0.0.1:1/db";

/** `sales-db load` of `csv` with the sample rules into `url`, plus extra options. */
export const loadCsv = (csv: string, url: string, ...extra: string[]) => [
  "load",
  "--csv",
  csv,
  "--rules",
  SAMPLE_RULES,
  "--database-url",
  url,
  ...extra,
];

/** `sales-db load` of the sample into `url`, plus extra options. */
export const loadSample = (url: string, ...extra: string[]) => loadCsv(SAMPLE_CSV, url, ...extra);

/** `sales-db validate` of `csv` against `rules`. */
export const validateArgs = (csv: string, rules = SAMPLE_RULES) => [
  "validate",
  "--csv",
  csv,
  "--rules",
  rules,
];

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Where a stream of the CLI goes: a pipe read to the end, one its reader closes after the first chunk, or a file descriptor. */
export type Sink = "pipe" | "closed-after-first-chunk" | number;

/** Runs the built CLI as a user would (no DATABASE_URL unless `env` sets one); `onSpawn` may act on the live process. */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onSpawn?: (pid: number) => void,
  sinks: { stdout?: Sink; stderr?: Sink } = {},
): Promise<Run> {
  const stdio = (sink: Sink = "pipe") => (typeof sink === "number" ? sink : "pipe");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: "", ...env },
      stdio: ["ignore", stdio(sinks.stdout), stdio(sinks.stderr)],
    });
    let stdout = "";
    let stderr = "";
    // A reader that goes away, as `| head -n 1` does: the CLI's later writes meet EPIPE.
    const read = (
      stream: NodeJS.ReadableStream | null,
      sink: Sink | undefined,
      add: (text: string) => void,
    ) =>
      stream?.on("data", function (this: NodeJS.ReadableStream & { destroy(): void }, chunk) {
        add(String(chunk));
        if (sink === "closed-after-first-chunk") this.destroy();
      });
    read(child.stdout, sinks.stdout, (text) => (stdout += text));
    read(child.stderr, sinks.stderr, (text) => (stderr += text));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (onSpawn && child.pid) onSpawn(child.pid);
  });
}

/** A log entry: `2025-04-25 10:00:00,123 - INFO - …`. */
const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - [A-Z]+ - /;

/**
 * A user error: exit `code`, and one line on stderr besides the log entries, matching `pattern`, with no stack
 * trace. Returns that line.
 */
export function expectOneLineError(run: Run, code: number, pattern: RegExp): string {
  expect(run.code, run.stderr).to.equal(code);
  const lines = run.stderr.split("\n").filter((line) => line !== "" && !LOG_LINE.test(line));
  expect(lines, run.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(run.stderr).to.not.match(/^\s+at /m);
  return lines[0] as string;
}

/** Rows in the test database's `sales` table. */
export async function salesCount(db: TestDatabase): Promise<number> {
  const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM sales");
  return row?.n ?? 0;
}
