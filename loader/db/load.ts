import { createHash, randomBytes, type Hash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Client } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import {
  columnList,
  forget,
  ownership,
  prepareBookkeeping,
  protect,
  quoteIdentifier,
  readState,
  record,
  recordSameRows,
  untouched,
  type Target,
  type TableState,
} from "./bookkeeping";
import type { ConnectOptions } from "./connection/connect";
import { checkCopiedRows, copyError } from "../copy/outcome";
import { watchCopy } from "./copy-progress";
import { CopyLines } from "../copy/line-index";
import { openInput, type Input } from "../input/input";
import { lockLoads, lockTable } from "./locks";
import { refuseEmpty, refuseForeign, type Overrides } from "./refusals";
import { recordedReport, rulesFingerprint, sameInput } from "./reload";
import { checkRejectedShare, type CopyFormat, type LoadReport, type ValidationReport } from "../rules/report";
import type { RuleSet } from "../rules/rules-file";
import { SalesEncoder, type EncoderOptions } from "../copy/sales-stream";
import { chooseCopyFormat, copyOptions } from "../copy/format";
import { STAGING_PREFIX, tableName } from "./table-name";
import { lockTimeoutMs } from "./lock-timeout";
import { inTransaction, type Outcome, type TableOptions } from "./transaction";

export interface LoadOptions extends Omit<EncoderOptions, "format">, TableOptions, Overrides {
  /** The COPY format to send the rows in. Default: binary, when every column type has an exact binary form. */
  readonly copyFormat?: CopyFormat;
  /**
   * How long the server may take none of the rows sent, or leave their end unanswered, before the load fails,
   * writing nothing (a server or network that stopped answering). Default 60 s.
   */
  readonly copyStallMs?: number;
  /** Fail, writing nothing, when more than this share (0..1) of the rows is rejected. */
  readonly maxRejectedShare?: number;
  /**
   * Who loads: recorded in the bookkeeping row, so that a later `dropSales({ onlyIfOwner })` by an earlier owner
   * can tell that the table has been loaded by someone else since, and must stay.
   */
  readonly owner?: string;
  /** `file`, already opened (and checked) by the caller, who closes it. Default: `file` is opened here. */
  readonly input?: Input;
  /**
   * Called with the final report just before COMMIT: whatever it does (render the output) fails the load
   * rather than happening after the rows are committed.
   */
  readonly onReport?: (report: LoadReport) => void;
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
  const input = options.input ?? (await openInput(options.file));
  try {
    return await inTransaction(options, name, (client, table) => load(client, table, input, options));
  } finally {
    if (!options.input) await input.close();
  }
}

/** What a load compares with the bookkeeping. */
interface LoadContext {
  readonly client: Client;
  readonly table: Target;
  readonly input: Input;
  readonly options: LoadOptions;
  readonly columns: string;
  readonly rulesSha256: string;
}

async function load(
  client: Client,
  table: Target,
  input: Input,
  options: LoadOptions,
): Promise<Outcome<LoadReport>> {
  const context: LoadContext = {
    client,
    table,
    input,
    options,
    columns: columnList(options.rules.columnTypes),
    rulesSha256: rulesFingerprint(options.rules),
  };
  const before = await readState(client, table);
  refuseForeign(before, table, options);
  const unchanged = await reloadUnchanged(context, before);
  if (unchanged) return unchanged;

  const staged = await stage(context);
  const { validation, copyFormat } = staged;
  const identity = {
    owner: options.owner ?? null,
    fileSha256: staged.fileSha256,
    fileSize: input.regular ? input.size : null,
    rulesSha256: context.rulesSha256,
    summary: { valid: validation.valid, rejected: validation.rejected, byRule: validation.byRule },
  };

  // The lock timeout bounds the wait for the locks alone: a slow input must not use it up before they are tried.
  const deadline = Date.now() + lockTimeoutMs(options);
  await lockLoads(client, table, deadline);
  await prepareBookkeeping(client, table);
  const state = await readState(client, table);
  refuseForeign(state, table, options);
  if (untouched(state, context.columns) && state.recorded?.sha256 === validation.sha256) {
    options.logger?.info(
      `${table.display} already holds these ${validation.valid} rows (sha256 ${short(validation.sha256)}); nothing written`,
    );
    await client.query(`DROP TABLE ${staged.table}`);
    await recordSameRows(client, table, identity);
    return report(options, {
      ...validation,
      table: table.display,
      copyFormat,
      loaded: 0,
      changed: false,
      validated: true,
    });
  }

  await lockTable(client, table, deadline);
  const locked = await readState(client, table); // as it is now that no one else can write it
  refuseForeign(locked, table, options);
  await refuseEmpty(client, locked, table, validation, options);
  if (locked.live) await client.query(`DROP TABLE ${table.qualified}`);
  await client.query(`ALTER TABLE ${staged.table} RENAME TO ${quoteIdentifier(table.name)}`);
  await protect(client, table);
  await record(client, table, {
    ...identity,
    sha256: validation.sha256,
    columns: context.columns,
  });
  options.logger?.info(
    `Loaded ${validation.valid} rows into ${table.display} (sha256 ${short(validation.sha256)})`,
  );
  return report(options, {
    ...validation,
    table: table.display,
    copyFormat,
    loaded: validation.valid,
    changed: true,
    validated: true,
  });
}

/**
 * A reload of the very file last loaded into the untouched table: nothing read past the file's hash. Only the
 * bookkeeping row changes hands when another owner loads it, under the lock, if nothing changed meanwhile.
 * Null when the load must validate and COPY.
 */
async function reloadUnchanged(
  context: LoadContext,
  before: TableState,
): Promise<Outcome<LoadReport> | null> {
  const { client, table, input, options } = context;
  const same = await sameInput(before, input, context.columns, context.rulesSha256);
  if (!same) return null;
  const recorded = recordedReport(same, before, table, options.file);
  checkRejectedShare(recorded, options.maxRejectedShare);
  options.logger?.info(
    `${table.display} already holds the rows of this file (sha256 ${short(recorded.sha256)}); nothing read or written`,
  );
  if (options.owner === undefined || before.recorded?.owner === options.owner) {
    options.onReport?.(recorded);
    return { commit: false, result: recorded };
  }
  await lockLoads(client, table, Date.now() + lockTimeoutMs(options));
  if (!untouched(await readState(client, table), context.columns)) return null;
  await client.query(`UPDATE ${table.meta} SET owner = $2 WHERE table_name = $1`, [
    table.name,
    options.owner,
  ]);
  return report(options, recorded);
}

/** The valid rows streamed into a fresh staging table (no lock held), checked against the gate and the server's count. */
async function stage(context: LoadContext): Promise<{
  table: string;
  validation: ValidationReport;
  fileSha256: string | null;
  copyFormat: CopyFormat;
}> {
  const { client, table, input, options } = context;
  const staged = `${quoteIdentifier(table.schema)}.${quoteIdentifier(STAGING_PREFIX + randomBytes(8).toString("hex"))}`;
  await client.query(`CREATE TABLE ${staged} (${columnDefinitions(options.rules)})`);
  const { format, reason } = chooseCopyFormat(options.rules, options.copyFormat);
  options.logger?.info(`Validating ${options.file} and streaming valid rows into ${table.display}`);
  options.logger?.debug(`COPY format ${format}: ${reason}`);
  const lines = new CopyLines(); // the CSV line of each row sent, for a row the database refuses
  const encoder = new SalesEncoder({ ...options, format, onValid: both(options.onValid, lines.add) });
  const copy = client.query(copyFrom(`COPY ${staged} FROM STDIN WITH (${copyOptions(format)})`));
  // The file's own hash (for a later unchanged reload): from the child hashing it ahead, else of the bytes read.
  const fileHash = input.regular && !input.hashedAhead ? createHash("sha256") : null;
  const watch = watchCopy(client, copy, table.display, options.copyStallMs);
  try {
    if (!fileHash) await pipeline(input.stream(), encoder, copy);
    else await pipeline(input.stream(), hashing(fileHash), encoder, copy);
  } catch (error) {
    throw watch.stalled() ?? copyError(input.readError(error), lines, options);
  } finally {
    watch.stop();
  }
  const validation = encoder.report;
  checkCopiedRows(copy.rowCount, validation.valid, options.file);
  checkRejectedShare(validation, options.maxRejectedShare);
  return {
    table: staged,
    validation,
    fileSha256: fileHash ? fileHash.digest("hex") : input.hashedAhead ? await input.sha256OfStreamed() : null,
    copyFormat: format,
  };
}

/** A stream that passes its chunks on, hashing them. */
function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

/** A callback that calls `first` (when given) and `second`. */
function both<T>(first: ((value: T) => void) | undefined, second: (value: T) => void): (value: T) => void {
  return first ? (value) => (first(value), second(value)) : second;
}

/** Hands the final report to `onReport` before COMMIT, and commits. */
function report(options: LoadOptions, final: LoadReport): Outcome<LoadReport> {
  options.onReport?.(final);
  return { commit: true, result: final };
}

function columnDefinitions(rules: RuleSet): string {
  return Object.entries(rules.columnTypes)
    .map(([column, type]) => `${quoteIdentifier(column)} ${type}`)
    .join(", ");
}

/** What a loaded table holds now: its live row count, the hash recorded by its last load, and whether it is intact. */
export interface TableStatus {
  readonly exists: boolean;
  readonly rowCount: number;
  readonly sha256: string | null;
  /** False when the table was written to, altered or replaced since sales-db loaded it. */
  readonly untouched: boolean;
}

export async function inspectTable(
  options: ConnectOptions & { readonly table?: string },
): Promise<TableStatus> {
  const name = tableName(options.table ?? "sales");
  return inTransaction<TableStatus>(options, name, async (client, table) => {
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
 * Drops the loaded table and its bookkeeping row, in one transaction under the load lock. Only a table sales-db
 * loaded is dropped; with `onlyIfOwner`, only when the last load was that owner's: the table may since have been
 * loaded by another owner (the same table reached under another name, or a newer load), whose rows must stay.
 * Returns whether it dropped.
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

function short(sha256: string): string {
  return sha256.slice(0, 12);
}
