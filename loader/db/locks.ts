import type { Client } from "pg";
import type { Target } from "./bookkeeping";
import { SalesDbError } from "../errors";

/**
 * Locks are taken by polling with short tries, never by a long blocking wait: a queued ACCESS EXCLUSIVE request
 * would make every reader of the table queue behind it, and a session blocked in a lock wait is one the server
 * cannot end when its client dies. Between tries readers run freely; each try blocks them for at most
 * TRY_MS.
 */
const TRY_MS = 100;
const MAX_PAUSE_MS = 1_000;

/** Takes the schema's sales-db advisory lock: every sales-db write in one schema is serialized by it. */
export async function lockLoads(client: Client, table: Target, deadline: number): Promise<void> {
  await poll(client, table, deadline, async () => {
    const result = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(${ADVISORY_KEY}) AS locked`,
      [table.schema],
    );
    return result.rows[0]?.locked === true;
  });
  await boundWaits(client, deadline);
}

/**
 * Takes ACCESS EXCLUSIVE on the table (when it exists) for the swap, trying for at most TRY_MS at a time. A table
 * dropped meanwhile is no longer there to lock: the swap then creates it.
 */
export async function lockTable(client: Client, table: Target, deadline: number): Promise<void> {
  await poll(client, table, deadline, async () => {
    await client.query("SAVEPOINT sales_db_lock");
    try {
      await client.query(`SET LOCAL lock_timeout = ${TRY_MS}`);
      const exists = await client.query<{ present: boolean }>(
        "SELECT to_regclass($1) IS NOT NULL AS present",
        [table.qualified],
      );
      if (exists.rows[0]?.present)
        await client.query(`LOCK TABLE ${table.qualified} IN ACCESS EXCLUSIVE MODE`);
      await client.query("RELEASE SAVEPOINT sales_db_lock");
      return true;
    } catch (error) {
      // 55P03: the try timed out. 42P01: the table was dropped while we waited for it (the next try finds it gone).
      const code = (error as { code?: unknown }).code;
      if (code !== "55P03" && code !== "42P01") throw error;
      await client.query("ROLLBACK TO SAVEPOINT sales_db_lock");
      return false;
    }
  });
  await boundWaits(client, deadline);
}

/** The statements that follow (the bookkeeping, dependent objects) wait for locks no longer than what is left. */
async function boundWaits(client: Client, deadline: number): Promise<void> {
  const left = Math.max(1, Math.min(deadline - Date.now(), 2_147_483_647));
  await client.query(`SET LOCAL lock_timeout = ${left}`);
}

const ADVISORY_KEY = "hashtextextended('sales-db:' || $1, 0)";

async function poll(
  client: Client,
  table: Target,
  deadline: number,
  attempt: () => Promise<boolean>,
): Promise<void> {
  const started = Date.now();
  for (let pause = 50; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
    if (await attempt()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw await lockTimeout(client, table, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
  }
}

interface Holder {
  pid: number;
  state: string | null;
  application_name: string | null;
  usename: string | null;
  since: string | null;
}

/** A lock timeout that says who holds the lock, since when, and how to end it. */
async function lockTimeout(client: Client, table: Target, waitedMs: number): Promise<SalesDbError> {
  const holders = await client
    .query<Holder>(
      `SELECT DISTINCT a.pid, a.state, a.application_name, a.usename,
         to_char(coalesce(a.xact_start, a.backend_start), 'YYYY-MM-DD HH24:MI:SS TZ') AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.granted AND l.pid <> pg_backend_pid() AND (
         (l.locktype = 'relation' AND l.relation = to_regclass($1)) OR
         (l.locktype = 'advisory' AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((l.classid::bigint << 32) | l.objid::bigint) = ${ADVISORY_KEY.replace("$1", "$2")}))
       ORDER BY a.pid LIMIT 3`,
      [table.qualified, table.schema],
    )
    .then(
      (result) => result.rows,
      () => [] as Holder[],
    );
  const who =
    holders.length === 0
      ? "its holder has gone since"
      : `held by ${holders.map(describeHolder).join("; ")}; end it with ` +
        holders.map((holder) => `SELECT pg_terminate_backend(${holder.pid})`).join(", ");
  return new SalesDbError(
    "db_lock_timeout",
    `timed out after ${(waitedMs / 1000).toFixed(1)}s waiting for the lock on ${table.display}: ${who}, ` +
      `or allow a longer lock timeout; nothing written`,
  );
}

function describeHolder(holder: Holder): string {
  const what = [
    holder.application_name ? `application "${holder.application_name}"` : null,
    holder.usename ? `user ${holder.usename}` : null,
    holder.state ? `${holder.state}${holder.since ? ` since ${holder.since}` : ""}` : null,
  ].filter((part) => part !== null);
  return `pid ${holder.pid} (${what.join(", ")})`;
}
