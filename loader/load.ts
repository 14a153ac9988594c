import type { Client } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { pipeline } from "node:stream/promises";
import { connectWithRetry, type ConnectOptions } from "./connect";
import { SalesDbError } from "./errors";
import { checkRejectedShare, type LoadReport } from "./report";
import { COLUMNS } from "./rules";
import { asFileError, openCsv, SalesEncoder, type EncoderOptions } from "./sales-stream";

export interface LoadOptions extends EncoderOptions, TableOptions {
  /** Fail, writing nothing, when more than this share (0..1) of the rows is rejected. */
  readonly maxRejectedShare?: number;
  /**
   * Who loads: recorded in the bookkeeping row, so that a later `dropSales({ onlyIfOwner })` by a previous owner
   * (the old side of a Pulumi update or replace) can tell that the table now belongs to someone else.
   */
  readonly owner?: string;
}

/** A checked, quoted table name, with its bookkeeping table beside it. */
export interface TableName {
  /** As the user wrote it: `sales` or `analytics.sales`. */
  readonly display: string;
  readonly qualified: string;
  readonly staging: string;
  readonly staged: string;
  readonly meta: string;
  readonly schema: string | null;
  readonly name: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,50}$/;
/** Records what each seeded table holds, so that a reload of the same rows writes nothing. */
const META_TABLE = "sales_db_seeds";

export function tableName(table: string): TableName {
  const parts = table.split(".");
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new SalesDbError(
      "usage",
      `invalid table name "${table}": use letters, digits and _, optionally schema.table`,
    );
  }
  const name = parts[parts.length - 1] as string;
  const schema = parts.length === 2 ? (parts[0] as string) : null;
  const inSchema = (identifier: string) => (schema ? `"${schema}"."${identifier}"` : `"${identifier}"`);
  return {
    display: table,
    qualified: inSchema(name),
    staging: `${name}__loading`,
    staged: inSchema(`${name}__loading`),
    meta: inSchema(META_TABLE),
    schema,
    name,
  };
}

/**
 * Validates the CSV and replaces the table with its valid rows, atomically:
 * BEGIN; advisory lock; COPY into a fresh table; swap it in; COMMIT.
 * Readers see the old rows until the commit, then the new ones. Any failure rolls back and leaves the old rows.
 * If the table already holds exactly these rows (same sha256, column types and live row count), the transaction
 * is rolled back and nothing is written.
 */
export async function loadSales(options: LoadOptions): Promise<LoadReport> {
  const table = tableName(options.table ?? "sales");
  const columns = COLUMNS.map((column) => `"${column}" ${options.rules.columnTypes[column]}`).join(", ");
  const logger = options.logger;
  return inLockedTransaction<LoadReport>(options, table, async (client) => {
    await ensureMetaTable(client, table);
    await client.query(`CREATE TABLE ${table.staged} (${columns})`);

    logger?.info(`Validating ${options.file} and streaming valid rows into ${table.display}`);
    const encoder = new SalesEncoder(options);
    const copy = client.query(copyFrom(`COPY ${table.staged} FROM STDIN WITH (FREEZE)`));
    try {
      await pipeline(openCsv(options.file), encoder, copy);
    } catch (error) {
      throw asFileError(error, options.file);
    }
    const report = encoder.report;
    checkRejectedShare(report, options.maxRejectedShare);

    const previous = await client.query<{ sha256: string; columns: string; owner: string | null }>(
      `SELECT sha256, columns, owner FROM ${table.meta} WHERE table_name = $1 AND to_regclass($2) IS NOT NULL`,
      [table.name, table.qualified],
    );
    const held = previous.rows[0];
    // The same rows only if the live table still holds all of them: a truncated table is reloaded.
    if (
      held &&
      held.sha256 === report.sha256 &&
      held.columns === columns &&
      (await rowCount(client, table)) === report.valid
    ) {
      logger?.info(
        `${table.display} already holds these ${report.valid} rows (sha256 ${short(report.sha256)}); nothing written`,
      );
      const result = { ...report, table: table.display, loaded: 0, changed: false };
      if (options.owner === undefined || held.owner === options.owner) return { commit: false, result };
      // Only the bookkeeping row changes hands; the staged copy goes, and the table is untouched.
      await client.query(`DROP TABLE ${table.staged}`);
      await client.query(`UPDATE ${table.meta} SET owner = $2 WHERE table_name = $1`, [
        table.name,
        options.owner,
      ]);
      return { commit: true, result };
    }

    await client.query(`DROP TABLE IF EXISTS ${table.qualified}`);
    await client.query(`ALTER TABLE ${table.staged} RENAME TO "${table.name}"`);
    await client.query(
      `INSERT INTO ${table.meta} (table_name, sha256, columns, row_count, owner, loaded_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (table_name) DO UPDATE
       SET sha256 = EXCLUDED.sha256, columns = EXCLUDED.columns, row_count = EXCLUDED.row_count,
           owner = EXCLUDED.owner, loaded_at = now()`,
      [table.name, report.sha256, columns, report.valid, options.owner ?? null],
    );
    logger?.info(`Loaded ${report.valid} rows into ${table.display} (sha256 ${short(report.sha256)})`);
    return { commit: true, result: { ...report, table: table.display, loaded: report.valid, changed: true } };
  });
}

async function relationExists(client: Client, qualifiedName: string): Promise<boolean> {
  const result = await client.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [
    qualifiedName,
  ]);
  return result.rows[0]?.present === true;
}

async function rowCount(client: Client, table: TableName): Promise<number> {
  const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table.qualified}`);
  return Number(result.rows[0]?.n ?? 0);
}

/** What a seeded table holds now: its live row count and the hash recorded by the last load. */
export interface SeedState {
  readonly exists: boolean;
  readonly rowCount: number;
  readonly sha256: string | null;
}

export async function inspectSales(
  options: ConnectOptions & { readonly table?: string },
): Promise<SeedState> {
  const table = tableName(options.table ?? "sales");
  const client = await connectWithRetry(options);
  try {
    if (!(await relationExists(client, table.qualified))) return { exists: false, rowCount: 0, sha256: null };
    const rows = await rowCount(client, table);
    const meta = (await relationExists(client, table.meta))
      ? (
          await client.query<{ sha256: string }>(`SELECT sha256 FROM ${table.meta} WHERE table_name = $1`, [
            table.name,
          ])
        ).rows[0]
      : undefined;
    return { exists: true, rowCount: rows, sha256: meta?.sha256 ?? null };
  } catch (error) {
    throw asDatabaseError(error, table);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Drops the seeded table and its bookkeeping row, in one transaction under the load lock. With `onlyIfOwner`,
 * only when the last load was that owner's: the table may since have been loaded by a new owner (the same
 * table reached under another name, or the new side of a replace), whose rows must stay.
 * Returns whether it dropped.
 */
export async function dropSales(options: TableOptions & { readonly onlyIfOwner?: string }): Promise<boolean> {
  const table = tableName(options.table ?? "sales");
  return inLockedTransaction(options, table, async (client) => {
    const hasMeta = await relationExists(client, table.meta);
    if (options.onlyIfOwner !== undefined) {
      const held = hasMeta
        ? (
            await client.query<{ owner: string | null }>(
              `SELECT owner FROM ${table.meta} WHERE table_name = $1`,
              [table.name],
            )
          ).rows[0]
        : undefined;
      if (held?.owner !== options.onlyIfOwner) return { commit: false, result: false };
    }
    await client.query(`DROP TABLE IF EXISTS ${table.qualified}`);
    if (hasMeta) {
      await client.query(`DELETE FROM ${table.meta} WHERE table_name = $1`, [table.name]);
    }
    return { commit: true, result: true };
  });
}

/** Where a seeded table is, and how long to wait for the lock on it. */
export interface TableOptions extends ConnectOptions {
  /** Target table, optionally schema-qualified. Default `sales`. */
  readonly table?: string;
  /** How long to wait for another load (or a reader) holding the table. Default 60 s. */
  readonly lockTimeoutMs?: number;
}

/**
 * One connection owns one transaction: BEGIN, the lock timeout, the schema's advisory lock, `work`, then COMMIT
 * (or ROLLBACK when `work` says so or fails), and the connection is closed whatever happens.
 */
async function inLockedTransaction<T>(
  options: TableOptions,
  table: TableName,
  work: (client: Client) => Promise<{ commit: boolean; result: T }>,
): Promise<T> {
  const client = await connectWithRetry(options);
  let inTransaction = false;
  try {
    await client.query("BEGIN");
    inTransaction = true;
    await client.query(
      `SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000))}`,
    );
    await lockSchema(client, table);
    const { commit, result } = await work(client);
    await client.query(commit ? "COMMIT" : "ROLLBACK");
    inTransaction = false;
    return result;
  } catch (error) {
    if (inTransaction) await client.query("ROLLBACK").catch(() => undefined);
    throw asDatabaseError(error, table);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Serializes every sales-db write in one schema, which also makes creating the bookkeeping table race-free. */
async function lockSchema(client: Client, table: TableName): Promise<void> {
  await client.query(
    "SELECT pg_advisory_xact_lock(hashtextextended('sales-db:' || coalesce($1, current_schema()), 0))",
    [table.schema],
  );
}

async function ensureMetaTable(client: Client, table: TableName): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${table.meta} (
       table_name text PRIMARY KEY, sha256 text NOT NULL, columns text NOT NULL,
       row_count bigint NOT NULL, owner text, loaded_at timestamptz NOT NULL)`,
  );
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
  return new SalesDbError("db_error", `loading ${table.display} failed: ${message}`, { cause: error });
}

function short(sha256: string): string {
  return sha256.slice(0, 12);
}
