import type { Client } from "pg";
import { SalesDbError } from "../errors";
import type { RuleId } from "../rules/validate";

/**
 * What sales-db knows about the tables it loads, kept in a `sales_db_seeds` table beside them: which table it
 * created (by oid), what it loaded into it, and whether anyone has written to it since.
 *
 * Trust: the bookkeeping table and the trigger function are used only when the loading role owns them (and the
 * function has sales-db's exact definition): another role that may create objects in the schema could otherwise
 * plant them first, and a trigger or a function of theirs would run with the loader's privileges. Nothing is read
 * from a bookkeeping table before its owner is checked. A table is sales-db's only when the loading role owns it and
 * its bookkeeping row names its oid.
 *
 * Tamper evidence: each loaded table gets a row-level trigger (BEFORE INSERT, UPDATE or DELETE) and a statement-level
 * one for TRUNCATE, both ENABLE ALWAYS, so that neither session_replication_role, a plain DISABLE TRIGGER nor
 * logical replication's apply worker (which fires row triggers only) skips them unnoticed; they flag the
 * bookkeeping row. They are created after the load's COPY, so the load itself pays nothing per row. An ALTER (a
 * column type, a disabled or dropped trigger, a rename, a TRUNCATE's new file) rewrites the table's pg_class or
 * pg_trigger rows, whose xmin then differs from the ones recorded; the live column types are compared as well.
 */
export const META_TABLE = "sales_db_seeds";
const MARK_FUNCTION = "sales_db_mark_modified";
/** The row-level trigger (BEFORE INSERT OR UPDATE OR DELETE, tgtype 31) and the TRUNCATE one (AFTER, tgtype 32). */
const ROW_TRIGGER = "sales_db_row_written";
const TRUNCATE_TRIGGER = "sales_db_truncated";
const TRIGGERS = `ARRAY['${ROW_TRIGGER}', '${TRUNCATE_TRIGGER}']`;
/** The one setting the trigger function runs with: nothing it names can be resolved in another role's schema. */
export const PINNED_SEARCH_PATH = "pg_catalog, pg_temp";
/**
 * The catalog stamp of the table `c` (a pg_class row): xmin of its pg_class row, then each of sales-db's triggers
 * with the xmin of its pg_trigger row and its enabled state.
 */
const STAMP = `c.xmin::text || '/' || coalesce((SELECT string_agg(t.tgname || ':' || t.xmin::text || ':' ||
     t.tgenabled::text, ',' ORDER BY t.tgname) FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = c.oid AND t.tgname = ANY (${TRIGGERS})), 'none')`;
/** Whether the table `c` carries both triggers, enabled ALWAYS, calling the function `$fn` (a regprocedure). */
const ARMED = (fn: string) => `(SELECT count(*) = 2 FROM pg_catalog.pg_trigger t
     WHERE t.tgrelid = c.oid AND t.tgenabled = 'A' AND t.tgfoid = pg_catalog.to_regprocedure(${fn})
       AND ((t.tgname = '${ROW_TRIGGER}' AND t.tgtype = 31) OR (t.tgname = '${TRUNCATE_TRIGGER}' AND t.tgtype = 32)))`;

/** A target table whose schema is resolved, with every name it needs quoted. */
export interface Target {
  /** As the user wrote it: `sales` or `analytics.sales`. */
  readonly display: string;
  readonly schema: string;
  readonly name: string;
  readonly qualified: string;
  readonly meta: string;
  /** The trigger function, as `to_regprocedure` takes it: `"schema".sales_db_mark_modified()`. */
  readonly marks: string;
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
  /** Whether the loading role owns it: a table another role owns is never sales-db's. */
  readonly owned: boolean;
  readonly owner: string;
  /** `product TEXT, price REAL, quantity INTEGER`, from the catalog. */
  readonly columns: string;
  /** xmin of the table's pg_class row, and of each of its sales-db triggers with its enabled state. */
  readonly stamp: string;
  /** Whether both sales-db triggers are on it, enabled ALWAYS, calling sales-db's function. */
  readonly armed: boolean;
}

export interface TableState {
  readonly recorded: Recorded | null;
  readonly live: LiveTable | null;
  /** Whether the trigger function exists, owned by the loading role, with sales-db's exact definition. */
  readonly marksCurrent: boolean;
  /** Whether the bookkeeping table exists with the columns of this version. */
  readonly metaCurrent: boolean;
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function target(display: string, schema: string, name: string): Target {
  const inSchema = (identifier: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(identifier)}`;
  return {
    display,
    schema,
    name,
    qualified: inSchema(name),
    meta: inSchema(META_TABLE),
    marks: `${inSchema(MARK_FUNCTION)}()`,
  };
}

/** The column list in the catalog's own spelling, to compare with `LiveTable.columns`. */
export function columnList(types: Readonly<Record<string, string>>): string {
  return Object.entries(types)
    .map(([column, type]) => `${column} ${type.toUpperCase()}`)
    .join(", ");
}

/** The trigger function's body: it flags the bookkeeping row of the table written, and lets the row through. */
function markBody(table: Target): string {
  return `
BEGIN
  UPDATE ONLY ${table.meta} SET modified = true WHERE table_oid = TG_RELID AND NOT modified;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END`;
}

/** What the catalog says of the bookkeeping objects, read before anything is read from them. */
interface Trust {
  role: string;
  meta_owner: string | null;
  meta_kind: string | null;
  /** Triggers, rules or row security on the bookkeeping table: sales-db creates none. */
  meta_armed: boolean;
  meta_current: boolean;
  marks_owner: string | null;
  marks_current: boolean;
}

/**
 * The bookkeeping as the catalog shows it, checked before a single row of it is read: another role's bookkeeping
 * table or trigger function (planted before sales-db's first load), or one with triggers, rules or row security,
 * is refused with one line naming it and its owner. Reading it could run their code with the loader's privileges
 * (a trigger, a row-security policy, a view's functions), and believing it could replace a table that is theirs.
 */
async function checkTrust(client: Client, table: Target): Promise<Trust> {
  const result = await client.query<Trust>(
    `SELECT current_user AS role,
       pg_get_userbyid(m.relowner) AS meta_owner, m.relkind::text AS meta_kind,
       (m.relrowsecurity OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = m.oid)
          OR EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = m.oid)) AS meta_armed,
       (EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = m.oid AND attname = 'summary')
          AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = m.oid AND attname = 'row_count'))
          AS meta_current,
       pg_get_userbyid(f.proowner) AS marks_owner,
       coalesce(f.prosecdef AND l.lanname = 'plpgsql' AND f.prorettype = 'trigger'::regtype
         AND f.pronargs = 0 AND f.proconfig = ARRAY['search_path=${PINNED_SEARCH_PATH}'] AND f.prosrc = $3
         AND f.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user), false) AS marks_current
     FROM (SELECT to_regclass($1) AS meta, to_regprocedure($2) AS marks) AS wanted
       LEFT JOIN pg_class m ON m.oid = wanted.meta
       LEFT JOIN pg_proc f ON f.oid = wanted.marks
       LEFT JOIN pg_language l ON l.oid = f.prolang`,
    [table.meta, table.marks, markBody(table)],
  );
  const trust = result.rows[0] as Trust;
  const metaName = `${table.schema}.${META_TABLE}`;
  const refuse = (what: string, owner: string, hint: string) =>
    new SalesDbError(
      "untrusted_object",
      `${what} is owned by role ${owner}, not by ${trust.role}, the role loading: sales-db uses only bookkeeping ` +
        `its loading role created; ${hint}; nothing written`,
    );
  if (trust.meta_owner !== null && trust.meta_owner !== trust.role) {
    throw refuse(
      metaName,
      trust.meta_owner,
      `load as ${trust.meta_owner}, or drop or rename the table (ALTER TABLE … OWNER TO ${trust.role} if it is sales-db's)`,
    );
  }
  if (trust.meta_kind !== null && (trust.meta_kind !== "r" || trust.meta_armed)) {
    throw new SalesDbError(
      "untrusted_object",
      `${metaName} is ${trust.meta_kind !== "r" ? `not a plain table (relkind ${trust.meta_kind})` : "a table with triggers, rules or row security"}, ` +
        `which sales-db never creates: it will not read or write it; drop or rename it; nothing written`,
    );
  }
  if (trust.marks_owner !== null && trust.marks_owner !== trust.role) {
    throw refuse(
      `function ${table.schema}.${MARK_FUNCTION}()`,
      trust.marks_owner,
      `load as ${trust.marks_owner}, or drop the function (ALTER FUNCTION … OWNER TO ${trust.role} if it is sales-db's)`,
    );
  }
  return trust;
}

/** The table and its bookkeeping, refused (untrusted_object) when the bookkeeping is not the loading role's own. */
export async function readState(client: Client, table: Target): Promise<TableState> {
  const trust = await checkTrust(client, table);
  const live = await client.query<LiveTable>(
    `SELECT c.oid::text AS oid, c.relkind::text AS relkind, pg_get_userbyid(c.relowner) = current_user AS owned,
       pg_get_userbyid(c.relowner) AS owner,
       (SELECT string_agg(a.attname || ' ' || upper(format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       ${STAMP} AS stamp, ${ARMED("$2")} AS armed
     FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [table.qualified, table.marks],
  );
  let recorded: Recorded | null = null;
  if (trust.meta_owner !== null) {
    // to_jsonb reads rows of any version of the table, with or without the newer columns.
    const row = await client.query<{ row: Record<string, unknown> }>(
      `SELECT to_jsonb(m) AS row FROM ONLY ${table.meta} m WHERE table_name = $1`,
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
  return {
    recorded,
    live: live.rows[0] ?? null,
    marksCurrent: trust.marks_current,
    metaCurrent: trust.meta_current,
  };
}

/**
 * Whose the table is. `ours`: a plain table the loading role owns, whose bookkeeping row names this very table by
 * its oid. `foreign`: anything else of that name, a row without an oid (written by a version that did not record
 * them) included: it could name any table of that name.
 */
export function ownership(state: TableState): "absent" | "ours" | "foreign" {
  const { live, recorded } = state;
  if (!live) return "absent";
  const ours =
    live.relkind === "r" && live.owned && recorded?.tableOid != null && recorded.tableOid === live.oid;
  return ours ? "ours" : "foreign";
}

/** Whether the table still holds exactly what the last load put there, with the given column types. */
export function untouched(state: TableState, columns: string): boolean {
  const { recorded, live } = state;
  return (
    recorded !== null &&
    live !== null &&
    ownership(state) === "ours" &&
    state.marksCurrent &&
    live.armed &&
    !recorded.modified &&
    recorded.stamp === live.stamp &&
    live.columns === columns
  );
}

/**
 * Creates or upgrades the bookkeeping table and the trigger function, under the schema's advisory lock, after
 * readState has checked whose they are. Only what is missing is created: an ALTER of the bookkeeping table would
 * wait for every open transaction that read it. What is absent is created without IF NOT EXISTS or OR REPLACE, so
 * that an object another role creates meanwhile fails the load instead of being taken (or, as a superuser,
 * redefined while it stays theirs).
 */
export async function prepareBookkeeping(client: Client, table: Target): Promise<void> {
  const trust = await checkTrust(client, table);
  if (trust.meta_owner === null) {
    await client.query(
      `CREATE TABLE ${table.meta} (
         table_name text PRIMARY KEY, sha256 text NOT NULL, columns text NOT NULL,
         owner text, loaded_at timestamptz NOT NULL)`,
    );
  }
  if (!trust.meta_current) {
    await client.query(
      `ALTER TABLE ${table.meta}
         ADD COLUMN IF NOT EXISTS table_oid oid, ADD COLUMN IF NOT EXISTS stamp text,
         ADD COLUMN IF NOT EXISTS modified boolean NOT NULL DEFAULT false,
         ADD COLUMN IF NOT EXISTS file_sha256 text, ADD COLUMN IF NOT EXISTS file_size bigint,
         ADD COLUMN IF NOT EXISTS rules_sha256 text, ADD COLUMN IF NOT EXISTS summary jsonb,
         DROP COLUMN IF EXISTS row_count`,
    );
  }
  if (trust.marks_current) return;
  // SECURITY DEFINER: a role that may write the table but not the bookkeeping still gets its writes flagged. Its
  // own search_path: a writer's cannot redirect what it names.
  await client.query(
    `CREATE ${trust.marks_owner === null ? "" : "OR REPLACE "}FUNCTION ${table.marks} RETURNS trigger
     LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${PINNED_SEARCH_PATH} AS $sales_db$${markBody(table)}$sales_db$`,
  );
}

/** Puts the tamper triggers on a freshly loaded table (after its COPY, so the load itself does not fire them). */
export async function protect(client: Client, table: Target): Promise<void> {
  await client.query(
    `CREATE TRIGGER ${ROW_TRIGGER} BEFORE INSERT OR UPDATE OR DELETE ON ${table.qualified}
     FOR EACH ROW EXECUTE FUNCTION ${table.marks}`,
  );
  await client.query(
    `CREATE TRIGGER ${TRUNCATE_TRIGGER} AFTER TRUNCATE ON ${table.qualified}
     FOR EACH STATEMENT EXECUTE FUNCTION ${table.marks}`,
  );
  await client.query(
    `ALTER TABLE ${table.qualified} ENABLE ALWAYS TRIGGER ${ROW_TRIGGER}, ENABLE ALWAYS TRIGGER ${TRUNCATE_TRIGGER}`,
  );
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
    `UPDATE ONLY ${table.meta} SET owner = $2, file_sha256 = $3, file_size = $4, rules_sha256 = $5, summary = $6
     WHERE table_name = $1`,
    [table.name, load.owner, load.fileSha256, load.fileSize, load.rulesSha256, JSON.stringify(load.summary)],
  );
}

export async function forget(client: Client, table: Target): Promise<void> {
  if ((await readState(client, table)).recorded) {
    await client.query(`DELETE FROM ONLY ${table.meta} WHERE table_name = $1`, [table.name]);
  }
}

/**
 * Binds the bookkeeping to the tables a restore (pg_restore of a dump) just recreated. A restored table has a new
 * oid and catalog stamp, while its bookkeeping row, restored from the same snapshot, still describes its rows:
 * each row of every schema's bookkeeping whose table now has another oid takes the table's new oid and stamp, and
 * keeps the rest (`modified` too). Only for the restore to call: it is what proves these tables are sales-db's.
 * Only bookkeeping and tables the connected role owns are bound (bookkeeping without triggers, rules or row
 * security, as sales-db makes it): another role's are never taken as ours. One transaction, with the search_path
 * pinned. Returns the tables bound, as `schema.table`.
 */
export async function adoptRestored(client: Client): Promise<string[]> {
  await client.query(`BEGIN; SET LOCAL search_path = ${PINNED_SEARCH_PATH}`);
  try {
    const schemas = await client.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relname = $1 AND c.relkind = 'r' AND pg_get_userbyid(c.relowner) = current_user
         AND NOT c.relrowsecurity AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid)
         AND NOT EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class = c.oid)
       ORDER BY 1`,
      [META_TABLE],
    );
    const bound: string[] = [];
    for (const { schema } of schemas.rows) {
      const meta = `${quoteIdentifier(schema)}.${quoteIdentifier(META_TABLE)}`;
      const updated = await client.query<{ table_name: string }>(
        `UPDATE ONLY ${meta} m SET table_oid = c.oid, stamp = ${STAMP}
         FROM pg_class c
         WHERE c.oid = to_regclass(quote_ident($1) || '.' || quote_ident(m.table_name)) AND c.relkind = 'r'
           AND pg_get_userbyid(c.relowner) = current_user AND m.table_oid IS DISTINCT FROM c.oid
         RETURNING m.table_name`,
        [schema],
      );
      bound.push(...updated.rows.map((row) => `${schema}.${row.table_name}`));
    }
    await client.query("COMMIT");
    return bound;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
