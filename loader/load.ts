import { createHash } from "node:crypto";
import { randomBytes } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Client } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import {
  columnList,
  forget,
  META_TABLE,
  ownership,
  prepareBookkeeping,
  protect,
  quoteIdentifier,
  readState,
  record,
  recordSameRows,
  target,
  untouched,
  type RecordedSummary,
  type Target,
  type TableState,
} from "./bookkeeping";
import { connectWithRetry, type ConnectOptions } from "./connect";
import { SalesDbError } from "./errors";
import { openInput, type Input } from "./input";
import { lockLoads, lockTable } from "./locks";
import { checkRejectedShare, type LoadReport, type ValidationReport } from "./report";
import type { RuleSet } from "./rules";
import { SalesEncoder, validateFile, type EncoderOptions } from "./sales-stream";

export interface LoadOptions extends EncoderOptions, TableOptions {
  /** Fail, writing nothing, when more than this share (0..1) of the rows is rejected. */
  readonly maxRejectedShare?: number;
  /**
   * Who loads: recorded in the bookkeeping row, so that a later `dropSales({ onlyIfOwner })` by a previous owner
   * (the old side of a Pulumi update or replace) can tell that the table now belongs to someone else.
   */
  readonly owner?: string;
  /** Replace a table of that name that sales-db did not load. Default false: such a table is refused. */
  readonly replaceForeignTable?: boolean;
  /** Allow a load that leaves 0 rows in a table that holds rows. Default false: refused. */
  readonly allowEmpty?: boolean;
  /**
   * Called with the final report just before COMMIT: whatever it does (render the output) fails the load
   * rather than happening after the rows are committed.
   */
  readonly onReport?: (report: LoadReport) => void;
}

/** Where a seeded table is, and how long to wait for the lock on it. */
export interface TableOptions extends ConnectOptions {
  /** Target table, optionally schema-qualified. Default `sales`. */
  readonly table?: string;
  /** How long to wait for another load (or a reader) holding the table. Default 60 s. */
  readonly lockTimeoutMs?: number;
}

/** A checked table name, before its schema is resolved on the server. */
export interface TableName {
  readonly display: string;
  readonly schema: string | null;
  readonly name: string;
}

/** The longest lock wait PostgreSQL accepts (lock_timeout is an int of milliseconds). */
export const MAX_LOCK_TIMEOUT_MS = 2_147_483_647;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const STAGING_PREFIX = "sales_db_staging_";
/** Bumped when validation or encoding changes, so that a reload of an unchanged file validates it again. */
const VALIDATION_VERSION = "1";

export function tableName(table: string): TableName {
  const parts = table.split(".");
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new SalesDbError(
      "usage",
      `invalid table name "${table}": use letters, digits and _ (at most 63), optionally schema.table`,
    );
  }
  const name = parts[parts.length - 1] as string;
  const schema = parts.length === 2 ? (parts[0] as string) : null;
  if (name === META_TABLE || name.startsWith(STAGING_PREFIX)) {
    throw new SalesDbError("usage", `table name "${table}" is reserved for sales-db's own bookkeeping`);
  }
  if (schema !== null && (/^pg_/i.test(schema) || schema.toLowerCase() === "information_schema")) {
    throw new SalesDbError(
      "usage",
      `table "${table}" is in a system schema (pg_*, information_schema); use a schema of your own`,
    );
  }
  return { display: table, schema, name };
}

/**
 * Validates the CSV and replaces the table with its valid rows, atomically. The input is opened before any
 * connection; the rows are streamed into a fresh staging table without any lock; only then are the locks taken,
 * briefly, for the checks and the swap: DROP the old table, RENAME the new one, record it, COMMIT.
 * Readers see the old rows until the commit, then the new ones. Any failure rolls back and leaves the old rows.
 * If the table is untouched since the last load of the same file bytes, rules and column types, nothing is read
 * past the file's hash and nothing is written; if it already holds the same valid rows, nothing is written.
 */
export async function loadSales(options: LoadOptions): Promise<LoadReport> {
  const name = tableName(options.table ?? "sales");
  const input = await openInput(options.file);
  try {
    return await inTransaction(options, name, (client, table) => load(client, table, input, options));
  } finally {
    await input.close();
  }
}

async function load(
  client: Client,
  table: Target,
  input: Input,
  options: LoadOptions,
): Promise<Outcome<LoadReport>> {
  const logger = options.logger;
  const columns = columnList(options.rules.columnTypes);
  const rulesSha256 = rulesFingerprint(options.rules);
  const deadline = Date.now() + lockTimeoutMs(options);

  const before = await readState(client, table);
  refuseForeign(before, table, options);
  const same = await sameInput(before, input, columns, rulesSha256);
  if (same) {
    const report = recordedReport(same, before, table, options.file);
    checkRejectedShare(report, options.maxRejectedShare);
    logger?.info(
      `${table.display} already holds the rows of this file (sha256 ${short(report.sha256)}); nothing read or written`,
    );
    if (options.owner === undefined || before.recorded?.owner === options.owner) {
      options.onReport?.(report);
      return { commit: false, result: report };
    }
    // Only the bookkeeping row changes hands, under the lock, if nothing changed meanwhile.
    await lockLoads(client, table, deadline);
    if (untouched(await readState(client, table), columns)) {
      await client.query(`UPDATE ${table.meta} SET owner = $2 WHERE table_name = $1`, [
        table.name,
        options.owner,
      ]);
      options.onReport?.(report);
      return { commit: true, result: report };
    }
  }

  const staged = `${quoteIdentifier(table.schema)}.${quoteIdentifier(STAGING_PREFIX + randomBytes(8).toString("hex"))}`;
  await client.query(`CREATE TABLE ${staged} (${columnDefinitions(options.rules)})`);
  logger?.info(`Validating ${options.file} and streaming valid rows into ${table.display}`);
  const encoder = new SalesEncoder(options);
  const fileHash = createHash("sha256");
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      fileHash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      input.stream(),
      tap,
      encoder,
      client.query(copyFrom(`COPY ${staged} FROM STDIN WITH (FREEZE)`)),
    );
  } catch (error) {
    throw await copyError(input.readError(error), input, options);
  }
  const validation = encoder.report;
  checkRejectedShare(validation, options.maxRejectedShare);
  const summary: RecordedSummary = {
    valid: validation.valid,
    rejected: validation.rejected,
    byRule: validation.byRule,
  };
  const identity = {
    owner: options.owner ?? null,
    fileSha256: input.regular ? fileHash.digest("hex") : null,
    fileSize: input.regular ? input.size : null,
    rulesSha256,
    summary,
  };

  await lockLoads(client, table, deadline);
  await prepareBookkeeping(client, table);
  const state = await readState(client, table);
  refuseForeign(state, table, options);
  if (untouched(state, columns) && state.recorded?.sha256 === validation.sha256) {
    logger?.info(
      `${table.display} already holds these ${validation.valid} rows (sha256 ${short(validation.sha256)}); nothing written`,
    );
    await client.query(`DROP TABLE ${staged}`);
    await recordSameRows(client, table, identity);
    const report = { ...validation, table: table.display, loaded: 0, changed: false, validated: true };
    options.onReport?.(report);
    return { commit: true, result: report };
  }

  await lockTable(client, table, deadline);
  const locked = await readState(client, table); // as it is now that no one else can write it
  refuseForeign(locked, table, options);
  await refuseEmpty(client, locked, table, validation, options);
  if (locked.live) await client.query(`DROP TABLE ${table.qualified}`);
  await client.query(`ALTER TABLE ${staged} RENAME TO ${quoteIdentifier(table.name)}`);
  await protect(client, table, table.qualified);
  await record(client, table, {
    ...identity,
    sha256: validation.sha256,
    columns,
    rowCount: validation.valid,
  });
  logger?.info(`Loaded ${validation.valid} rows into ${table.display} (sha256 ${short(validation.sha256)})`);
  const report = {
    ...validation,
    table: table.display,
    loaded: validation.valid,
    changed: true,
    validated: true,
  };
  options.onReport?.(report);
  return { commit: true, result: report };
}

/**
 * A row the database refused (a character its encoding cannot store, mostly) names the COPY row; the user needs
 * the CSV line, found by validating the file again up to that row (error path only; a FIFO cannot be re-read).
 */
async function copyError(error: unknown, input: Input, options: LoadOptions): Promise<unknown> {
  const copyRow = /\bCOPY [^,]+, line (\d+)/.exec(String((error as { where?: unknown }).where ?? ""))?.[1];
  if (copyRow === undefined || !(error instanceof Error)) return error;
  let line: number | undefined;
  if (input.regular) {
    let seen = 0;
    const target = Number(copyRow);
    await validateFile(
      {
        file: options.file,
        rules: options.rules,
        maxRejects: 0,
        onValid: (at) => {
          if (++seen === target) line = at;
        },
      },
      input.stream(),
    ).catch(() => undefined);
  }
  const at = line === undefined ? `${options.file} (valid row ${copyRow})` : `${options.file}:${line}`;
  return new SalesDbError(
    "db_error",
    `${at}: the database refused this row: ${error.message}; nothing written`,
    { file: options.file, line, cause: error },
  );
}

/** The recorded state, when the input is the very file (bytes, rules, column types) of the last load. */
async function sameInput(
  state: TableState,
  input: Input,
  columns: string,
  rulesSha256: string,
): Promise<RecordedSummary | null> {
  const recorded = state.recorded;
  if (!input.regular || !recorded?.summary || !untouched(state, columns)) return null;
  if (recorded.fileSize !== input.size || recorded.rulesSha256 !== rulesSha256) return null;
  return recorded.fileSha256 === (await input.sha256()) ? recorded.summary : null;
}

function recordedReport(
  summary: RecordedSummary,
  state: TableState,
  table: Target,
  file: string,
): LoadReport {
  return {
    file,
    ...summary,
    rejects: [],
    rejectsOmitted: summary.rejected,
    sha256: state.recorded?.sha256 ?? "",
    table: table.display,
    loaded: 0,
    changed: false,
    validated: false,
  };
}

function refuseForeign(state: TableState, table: Target, options: LoadOptions): void {
  if (ownership(state) !== "foreign") return;
  if (state.live?.relkind !== "r") {
    throw new SalesDbError(
      "foreign_table",
      `${table.display} exists and is not a plain table (relkind ${state.live?.relkind}); sales-db replaces only ` +
        `tables it loaded; nothing written`,
    );
  }
  if (options.replaceForeignTable) {
    options.logger?.warning(`Replacing ${table.display}, which sales-db did not load, as asked`);
    return;
  }
  throw new SalesDbError(
    "foreign_table",
    `${table.display} exists but was not loaded by sales-db (no matching row in ${META_TABLE}); ` +
      `refusing to replace it; nothing written`,
  );
}

async function refuseEmpty(
  client: Client,
  state: TableState,
  table: Target,
  report: ValidationReport,
  options: LoadOptions,
): Promise<void> {
  if (report.valid > 0 || options.allowEmpty || !state.live) return;
  const held = await client.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${table.qualified}) AS any`,
  );
  if (!held.rows[0]?.any) return;
  throw new SalesDbError(
    "empty_result",
    `${report.file}: no valid rows (${report.rejected} rejected), and loading it would empty ${table.display}, ` +
      `which holds rows; nothing written`,
    { file: report.file },
  );
}

function columnDefinitions(rules: RuleSet): string {
  return Object.entries(rules.columnTypes)
    .map(([column, type]) => `${quoteIdentifier(column)} ${type}`)
    .join(", ");
}

/** Identifies the rules as validation sees them (not the YAML's spelling), and the validator's version. */
function rulesFingerprint(rules: RuleSet): string {
  return createHash("sha256")
    .update(JSON.stringify([VALIDATION_VERSION, rules]))
    .digest("hex");
}

function lockTimeoutMs(options: TableOptions): number {
  return Math.min(MAX_LOCK_TIMEOUT_MS, Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000)));
}

/** What a seeded table holds now: its live row count, the hash recorded by the last load, and whether it is intact. */
export interface SeedState {
  readonly exists: boolean;
  readonly rowCount: number;
  readonly sha256: string | null;
  /** False when the table was written to, altered or replaced since sales-db loaded it. */
  readonly untouched: boolean;
}

export async function inspectSales(
  options: ConnectOptions & { readonly table?: string },
): Promise<SeedState> {
  const name = tableName(options.table ?? "sales");
  return inTransaction<SeedState>(options, name, async (client, table) => {
    const state = await readState(client, table);
    if (!state.live)
      return { commit: false, result: { exists: false, rowCount: 0, sha256: null, untouched: false } };
    const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table.qualified}`);
    return {
      commit: false,
      result: {
        exists: true,
        rowCount: Number(count.rows[0]?.n ?? 0),
        sha256: ownership(state) === "ours" ? (state.recorded?.sha256 ?? null) : null,
        untouched: untouched(state, state.live.columns) && state.recorded?.columns === state.live.columns,
      },
    };
  });
}

/**
 * Drops the seeded table and its bookkeeping row, in one transaction under the load lock. Only a table sales-db
 * loaded is dropped; with `onlyIfOwner`, only when the last load was that owner's: the table may since have been
 * loaded by a new owner (the same table reached under another name, or the new side of a replace), whose rows
 * must stay. Returns whether it dropped.
 */
export async function dropSales(options: TableOptions & { readonly onlyIfOwner?: string }): Promise<boolean> {
  const name = tableName(options.table ?? "sales");
  const deadline = Date.now() + lockTimeoutMs(options);
  return inTransaction(options, name, async (client, table) => {
    await lockLoads(client, table, deadline);
    const state = await readState(client, table);
    if (options.onlyIfOwner !== undefined && state.recorded?.owner !== options.onlyIfOwner) {
      return { commit: false, result: false };
    }
    const owned = ownership(state);
    if (owned === "foreign") {
      // Not ours (any more): keep the table, forget our stale record of it.
      await forget(client, table);
      return { commit: true, result: false };
    }
    if (owned === "ours") {
      await lockTable(client, table, deadline);
      await client.query(`DROP TABLE ${table.qualified}`);
    }
    await forget(client, table);
    return { commit: true, result: owned === "ours" };
  });
}

type Outcome<T> = { commit: boolean; result: T };

/**
 * One connection owns one transaction: BEGIN, the table's schema resolved, `work`, then COMMIT (or ROLLBACK when
 * `work` says so or fails), and the connection is closed whatever happens.
 */
async function inTransaction<T>(
  options: TableOptions,
  name: TableName,
  work: (client: Client, table: Target) => Promise<Outcome<T>>,
): Promise<T> {
  const client = await connectWithRetry(options);
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    // Every wait for a lock is bounded, the short tries of the swap included (locks.ts).
    await client.query(`SET LOCAL lock_timeout = ${lockTimeoutMs(options)}`);
    const table = await resolve(client, name);
    const { commit, result } = await work(client, table);
    await client.query(commit ? "COMMIT" : "ROLLBACK");
    open = false;
    return result;
  } catch (error) {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    throw asDatabaseError(error, name);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The schema an unqualified name lands in, as CREATE TABLE would pick it. */
async function resolve(client: Client, name: TableName): Promise<Target> {
  if (name.schema !== null) return target(name.display, name.schema, name.name);
  const result = await client.query<{ schema: string | null }>("SELECT current_schema() AS schema");
  const schema = result.rows[0]?.schema;
  if (!schema || /^pg_/.test(schema)) {
    throw new SalesDbError(
      "usage",
      `no schema to create ${name.display} in (the search_path names no usable schema); use --table schema.table`,
    );
  }
  return target(name.display, schema, name.name);
}

function asDatabaseError(error: unknown, table: TableName): unknown {
  if (error instanceof SalesDbError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "55P03") {
    return new SalesDbError(
      "db_lock_timeout",
      `timed out waiting for a lock on ${table.display}: ${message}`,
      {
        cause: error,
      },
    );
  }
  if (code === "2BP01") {
    return new SalesDbError(
      "db_error",
      `cannot replace ${table.display}: other objects (views?) depend on it: ${message}`,
      { cause: error },
    );
  }
  if (code === "3F000") {
    return new SalesDbError("db_error", `cannot load ${table.display}: ${message}; create the schema first`, {
      cause: error,
    });
  }
  return new SalesDbError("db_error", `loading ${table.display} failed: ${message}`, { cause: error });
}

function short(sha256: string): string {
  return sha256.slice(0, 12);
}
