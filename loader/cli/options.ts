import { parseArgs } from "node:util";
import { oneLine, SalesDbError } from "../errors";
import type { LogLevel } from "../log";
import type { CopyFormat } from "../rules/report";
import { MAX_LOCK_TIMEOUT_MS } from "../db/lock-timeout";

export const USAGE = `Usage:
  sales-db validate --csv FILE --rules FILE [--json]
  sales-db load     --csv FILE --rules FILE [--database-url URL] [--table sales] [--json]
                    [--wait-timeout SECONDS] [--lock-timeout SECONDS] [--commit-timeout SECONDS]
                    [--replace-foreign-table] [--allow-empty] [--copy-format binary|text]
  sales-db demo     (starts an embedded PostgreSQL, loads data/sales.csv, prints the table)

Options:
  --json                   print one JSON report on stdout (logs stay on stderr)
  --max-rejects N          list at most N rejects in the report (default 10000, at most 100000; the log shows all)
  --max-rejected-share F   fail when more than this share (0..1) of the rows is rejected
  --database-url URL       a libpq connection string (URL or key=value); defaults to $DATABASE_URL
  --replace-foreign-table  replace the table even though sales-db did not load it
  --allow-empty            load even when no row is valid and the table holds rows (it ends up empty)
  --copy-format FORMAT     send the rows as COPY binary (the default; a numeric price goes as text) or text
  -q, --quiet              log errors only        -v, --verbose   log debug detail

Exit status: 0 success (even with rejected rows, or nothing to write); 1 the input, the rules, a check or the
database failed, and nothing was written; 2 bad usage; 3 the COMMIT's outcome is not confirmed (the message
says how to check); 70 internal error (a bug).`;

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
  "commit-timeout": { type: "string" },
  "replace-foreign-table": { type: "boolean", default: false },
  "allow-empty": { type: "boolean", default: false },
  "copy-format": { type: "string" },
  quiet: { type: "boolean", short: "q", default: false },
  verbose: { type: "boolean", short: "v", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Where and how long `load` connects and waits. */
export interface Connection {
  readonly connectionString: string;
  readonly waitTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly commitTimeoutMs: number;
}

/** The command line, checked: what to run, with which inputs and limits. */
export type CommandLine =
  | { readonly command: "help"; readonly asked: boolean }
  | { readonly command: "demo"; readonly level: LogLevel }
  | {
      readonly command: "validate" | "load";
      readonly level: LogLevel;
      readonly quiet: boolean;
      readonly json: boolean;
      readonly csv: string;
      readonly rules: string;
      readonly maxRejects?: number;
      readonly maxRejectedShare?: number;
      readonly table: string;
      readonly replaceForeignTable: boolean;
      readonly allowEmpty: boolean;
      /** `load`: the COPY format asked for; undefined lets the load choose (binary where exact). */
      readonly copyFormat?: CopyFormat;
      /** Set for `load` only. */
      readonly connection: Connection | null;
    };

/** Parses `argv`; every mistake is a usage error (exit 2) that says what was expected. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage(oneLine((error as Error).message));
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined || command === "help") {
    return { command: "help", asked: values.help || command !== undefined };
  }
  if (positionals.length > 1) throw usage(`unexpected argument "${positionals[1]}"`);
  const level: LogLevel = values.quiet ? "error" : values.verbose ? "debug" : "info";
  if (command === "demo") return { command, level };
  if (command !== "validate" && command !== "load") throw usage(`unknown command "${command}"`);

  const csv = values.csv ?? missing("--csv");
  const rules = values.rules ?? missing("--rules");
  const maxRejects = values["max-rejects"];
  const maxShare = values["max-rejected-share"];
  return {
    command,
    level,
    quiet: values.quiet,
    json: values.json,
    csv,
    rules,
    maxRejects:
      maxRejects === undefined ? undefined : wholeNumber("--max-rejects", maxRejects, MAX_LISTED_REJECTS),
    maxRejectedShare: maxShare === undefined ? undefined : share("--max-rejected-share", maxShare),
    table: values.table,
    replaceForeignTable: values["replace-foreign-table"],
    allowEmpty: values["allow-empty"],
    copyFormat: copyFormat(values["copy-format"]),
    connection:
      command === "load"
        ? {
            connectionString: databaseUrl(values["database-url"], env),
            waitTimeoutMs: seconds("--wait-timeout", values["wait-timeout"], 30),
            lockTimeoutMs: seconds("--lock-timeout", values["lock-timeout"], 60, MAX_LOCK_TIMEOUT_MS / 1000),
            commitTimeoutMs: seconds("--commit-timeout", values["commit-timeout"], 60),
          }
        : null,
  };
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

function copyFormat(text: string | undefined): CopyFormat | undefined {
  if (text === undefined || text === "binary" || text === "text") return text;
  throw usage(`--copy-format must be binary or text, got "${text}"`);
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
