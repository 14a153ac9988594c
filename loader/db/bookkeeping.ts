import type { Client } from "pg";
import type { RuleId } from "../rules/validate";

/**
 * What sales-db knows about the tables it loads, kept in a `sales_db_seeds` table beside them: which table it
 * created (by oid), what it loaded into it, and whether anyone has written to it since.
 *
 * Tamper evidence: each loaded table gets a statement-level trigger (ENABLE ALWAYS, so that neither
 * session_replication_role nor a plain DISABLE TRIGGER skips it unnoticed) that flags the bookkeeping row on any
 * INSERT, UPDATE, DELETE or TRUNCATE, once per statement. An ALTER (a column type, a disabled or dropped trigger,
 * a rename) rewrites the table's pg_class or pg_trigger row, whose xmin then differs from the one recorded; the
 * live column types are compared as well. The cost is one trigger call per statement on the table, and a
 * catalog lookup per load.
 */
export const META_TABLE = "sales_db_seeds";
const MARK_FUNCTION = "sales_db_mark_modified";
const TRIGGER = "sales_db_modified";
/**
 * The catalog stamp of the table `c` (a pg_class row): xmin of its pg_class row / of its trigger's pg_trigger row
 * / the trigger's enabled state. `$trigger` is the parameter that holds the trigger's name.
 */
const stampOf = (trigger: string) =>
  `c.xmin::text || '/' || coalesce((SELECT t.xmin::text || '/' || t.tgenabled::text FROM pg_trigger t
     WHERE t.tgrelid = c.oid AND t.tgname = ${trigger}), 'none')`;

/** A target table whose schema is resolved, with every name it needs quoted. */
export interface Target {
  /** As the user wrote it: `sales` or `analytics.sales`. */
  readonly display: string;
  readonly schema: string;
  readonly name: string;
  readonly qualified: string;
  readonly meta: string;
}

/** The summary a no-op reload reports without reading the rows again. */
export interface RecordedSummary {
  readonly valid: number;
  readonly rejected: number;
  readonly byRule: Record<RuleId, number>;
}

/** The bookkeeping row of a table. Fields added by later versions are null on rows older versions wrote. */
export interface Recorded {
  readonly sha256: string;
  readonly columns: string;
  readonly owner: string | null;
  readonly tableOid: string | null;
  readonly stamp: string | null;
  readonly modified: boolean;
  readonly fileSha256: string | null;
  readonly fileSize: number | null;
  readonly rulesSha256: string | null;
  readonly summary: RecordedSummary | null;
}

export interface LiveTable {
  readonly oid: string;
  /** `r` for a table; a view, foreign or partitioned table is never one sales-db loaded. */
  readonly relkind: string;
  /** `product TEXT, price REAL, quantity INTEGER`, from the catalog. */
  readonly columns: string;
  /** xmin of the table's pg_class row / of its trigger's pg_trigger row / the trigger's enabled state. */
  readonly stamp: string;
}

export interface TableState {
  readonly recorded: Recorded | null;
  readonly live: LiveTable | null;
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function target(display: string, schema: string, name: string): Target {
  const inSchema = (identifier: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(identifier)}`;
  return { display, schema, name, qualified: inSchema(name), meta: inSchema(META_TABLE) };
}

/** The column list in the catalog's own spelling, to compare with `LiveTable.columns`. */
export function columnList(types: Readonly<Record<string, string>>): string {
  return Object.entries(types)
    .map(([column, type]) => `${column} ${type.toUpperCase()}`)
    .join(", ");
}

export async function readState(client: Client, table: Target): Promise<TableState> {
  const live = await client.query<LiveTable>(
    `SELECT c.oid::text AS oid, c.relkind::text AS relkind,
       (SELECT string_agg(a.attname || ' ' || upper(format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       ${stampOf("$2")} AS stamp
     FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [table.qualified, TRIGGER],
  );
  const hasMeta = await client.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [
    table.meta,
  ]);
  let recorded: Recorded | null = null;
  if (hasMeta.rows[0]?.present) {
    // to_jsonb reads rows of any version of the table, with or without the newer columns.
    const row = await client.query<{ row: Record<string, unknown> }>(
      `SELECT to_jsonb(m) AS row FROM ${table.meta} m WHERE table_name = $1`,
      [table.name],
    );
    const raw = row.rows[0]?.row;
    if (raw) {
      const text = (key: string) => (typeof raw[key] === "string" ? (raw[key] as string) : null);
      recorded = {
        sha256: text("sha256") ?? "",
        columns: text("columns") ?? "",
        owner: text("owner"),
        tableOid: raw.table_oid == null ? null : String(raw.table_oid),
        stamp: text("stamp"),
        modified: raw.modified === true,
        fileSha256: text("file_sha256"),
        fileSize: typeof raw.file_size === "number" ? raw.file_size : null,
        rulesSha256: text("rules_sha256"),
        summary: (raw.summary as RecordedSummary | null | undefined) ?? null,
      };
    }
  }
  return { recorded, live: live.rows[0] ?? null };
}

/**
 * Whose the table is. `ours`: the bookkeeping row names this very table (same oid; a row from a version that
 * did not record oids counts too). `foreign`: a table of that name that sales-db did not create.
 */
export function ownership(state: TableState): "absent" | "ours" | "foreign" {
  if (!state.live) return "absent";
  const recorded = state.recorded;
  if (!recorded || state.live.relkind !== "r") return "foreign";
  return recorded.tableOid === null || recorded.tableOid === state.live.oid ? "ours" : "foreign";
}

/** Whether the table still holds exactly what the last load put there, with the given column types. */
export function untouched(state: TableState, columns: string): boolean {
  const { recorded, live } = state;
  return (
    recorded !== null &&
    live !== null &&
    ownership(state) === "ours" &&
    recorded.tableOid === live.oid &&
    !recorded.modified &&
    recorded.stamp === live.stamp &&
    live.stamp.endsWith("/A") &&
    live.columns === columns
  );
}

/**
 * Creates or upgrades the bookkeeping table and the trigger function, under the schema's advisory lock. Only what
 * is missing is created: an ALTER of the bookkeeping table would wait for every open transaction that read it.
 */
export async function prepareBookkeeping(client: Client, table: Target): Promise<void> {
  const present = await client.query<{ upgraded: boolean; marks: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'summary')
              AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'row_count')
              AS upgraded,
            to_regprocedure($2) IS NOT NULL AS marks`,
    [table.meta, `${quoteIdentifier(table.schema)}.${MARK_FUNCTION}()`],
  );
  const { upgraded, marks } = present.rows[0] ?? { upgraded: false, marks: false };
  if (upgraded && marks) return;
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${table.meta} (
       table_name text PRIMARY KEY, sha256 text NOT NULL, columns text NOT NULL,
       owner text, loaded_at timestamptz NOT NULL)`,
  );
  await client.query(
    `ALTER TABLE ${table.meta}
       ADD COLUMN IF NOT EXISTS table_oid oid, ADD COLUMN IF NOT EXISTS stamp text,
       ADD COLUMN IF NOT EXISTS modified boolean NOT NULL DEFAULT false,
       ADD COLUMN IF NOT EXISTS file_sha256 text, ADD COLUMN IF NOT EXISTS file_size bigint,
       ADD COLUMN IF NOT EXISTS rules_sha256 text, ADD COLUMN IF NOT EXISTS summary jsonb,
       DROP COLUMN IF EXISTS row_count`,
  );
  // SECURITY DEFINER: a role that may write the table but not the bookkeeping still gets its writes flagged.
  await client.query(
    `CREATE OR REPLACE FUNCTION ${quoteIdentifier(table.schema)}.${MARK_FUNCTION}() RETURNS trigger
     LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $sales_db$
     BEGIN
       UPDATE ${table.meta} SET modified = true WHERE table_oid = TG_RELID AND NOT modified;
       RETURN NULL;
     END $sales_db$`,
  );
}

/** Puts the tamper trigger on a freshly loaded table (after its COPY, so the load itself does not fire it). */
export async function protect(client: Client, table: Target): Promise<void> {
  await client.query(
    `CREATE TRIGGER ${TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table.qualified}
     FOR EACH STATEMENT EXECUTE PROCEDURE ${quoteIdentifier(table.schema)}.${MARK_FUNCTION}()`,
  );
  await client.query(`ALTER TABLE ${table.qualified} ENABLE ALWAYS TRIGGER ${TRIGGER}`);
}

export interface LoadRecord {
  readonly sha256: string;
  readonly columns: string;
  readonly owner: string | null;
  readonly fileSha256: string | null;
  readonly fileSize: number | null;
  readonly rulesSha256: string;
  readonly summary: RecordedSummary;
}

/** Records a load of the (now final) table, with its oid and catalog stamp as they are at this point. */
export async function record(client: Client, table: Target, load: LoadRecord): Promise<void> {
  const live = (await readState(client, table)).live;
  await client.query(
    `INSERT INTO ${table.meta} (table_name, sha256, columns, owner, loaded_at, table_oid, stamp,
       modified, file_sha256, file_size, rules_sha256, summary)
     VALUES ($1, $2, $3, $4, now(), $5, $6, false, $7, $8, $9, $10)
     ON CONFLICT (table_name) DO UPDATE
     SET sha256 = EXCLUDED.sha256, columns = EXCLUDED.columns,
         owner = EXCLUDED.owner, loaded_at = now(), table_oid = EXCLUDED.table_oid, stamp = EXCLUDED.stamp,
         modified = false, file_sha256 = EXCLUDED.file_sha256, file_size = EXCLUDED.file_size,
         rules_sha256 = EXCLUDED.rules_sha256, summary = EXCLUDED.summary`,
    [
      table.name,
      load.sha256,
      load.columns,
      load.owner,
      live?.oid ?? null,
      live?.stamp ?? null,
      load.fileSha256,
      load.fileSize,
      load.rulesSha256,
      JSON.stringify(load.summary),
    ],
  );
}

/** Updates what identifies the input (and the owner) when a reload found the table already holding its rows. */
export async function recordSameRows(
  client: Client,
  table: Target,
  load: Pick<LoadRecord, "owner" | "fileSha256" | "fileSize" | "rulesSha256" | "summary">,
): Promise<void> {
  await client.query(
    `UPDATE ${table.meta} SET owner = $2, file_sha256 = $3, file_size = $4, rules_sha256 = $5, summary = $6
     WHERE table_name = $1`,
    [table.name, load.owner, load.fileSha256, load.fileSize, load.rulesSha256, JSON.stringify(load.summary)],
  );
}

export async function forget(client: Client, table: Target): Promise<void> {
  if ((await readState(client, table)).recorded) {
    await client.query(`DELETE FROM ${table.meta} WHERE table_name = $1`, [table.name]);
  }
}

/**
 * Binds the bookkeeping to the tables a restore (pg_restore of a dump) just recreated. A restored table has a new
 * oid and catalog stamp, while its bookkeeping row, restored from the same snapshot, still describes its rows:
 * each row of every schema's bookkeeping whose table now has another oid takes the table's new oid and stamp, and
 * keeps the rest (`modified` too). Only for the restore to call: it is what proves these tables are sales-db's.
 * Only bookkeeping and tables the connected role owns are bound: another role's are never taken as ours.
 * Returns the tables bound, as `schema.table`.
 */
export async function adoptRestored(client: Client): Promise<string[]> {
  const schemas = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = $1 AND c.relkind = 'r' AND pg_catalog.pg_get_userbyid(c.relowner) = current_user
     ORDER BY 1`,
    [META_TABLE],
  );
  const bound: string[] = [];
  for (const { schema } of schemas.rows) {
    const meta = `${quoteIdentifier(schema)}.${quoteIdentifier(META_TABLE)}`;
    const updated = await client.query<{ table_name: string }>(
      `UPDATE ${meta} m SET table_oid = c.oid, stamp = ${stampOf("$2")}
       FROM pg_catalog.pg_class c
       WHERE c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident(m.table_name)) AND c.relkind = 'r'
         AND pg_catalog.pg_get_userbyid(c.relowner) = current_user AND m.table_oid IS DISTINCT FROM c.oid
       RETURNING m.table_name`,
      [schema, TRIGGER],
    );
    bound.push(...updated.rows.map((row) => `${schema}.${row.table_name}`));
  }
  return bound;
}
