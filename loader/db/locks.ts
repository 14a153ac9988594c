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
  const longest = await longestPause(client);
  for (let pause = Math.min(50, longest); ; pause = Math.min(pause * 2, longest)) {
    if (await attempt()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw await lockTimeout(client, table, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
  }
}

/**
 * The longest pause between tries: MAX_PAUSE_MS, or less than half the session's
 * idle_in_transaction_session_timeout (a role or database may set one), so that a pause never makes the server end
 * the session, which waits idle in its transaction meanwhile.
 */
async function longestPause(client: Client): Promise<number> {
  const result = await client.query<{ ms: number }>(
    "SELECT setting::bigint AS ms FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'",
  );
  const idleMs = Number(result.rows[0]?.ms ?? 0);
  return idleMs > 0 ? Math.max(1, Math.min(MAX_PAUSE_MS, Math.floor(idleMs / 2))) : MAX_PAUSE_MS;
}

interface Holder {
  pid: number | null;
  state: string | null;
  application_name: string | null;
  usename: string | null;
  since: string | null;
  /** Set for a prepared transaction (PREPARE TRANSACTION), which holds its locks with no session. */
  gid: string | null;
}

/** A lock timeout that says who holds the lock, since when, and how to end it. */
async function lockTimeout(client: Client, table: Target, waitedMs: number): Promise<SalesDbError> {
  // A prepared transaction's locks belong to no backend (pid null): its own transactionid lock, under the same
  // virtual transaction, says which one it is.
  const holders = await client
    .query<Holder>(
      `SELECT DISTINCT a.pid, a.state, a.application_name, coalesce(a.usename, p.owner::text) AS usename,
         to_char(coalesce(a.xact_start, a.backend_start, p.prepared), 'YYYY-MM-DD HH24:MI:SS TZ') AS since,
         p.gid
       FROM pg_locks l
       LEFT JOIN pg_stat_activity a ON a.pid = l.pid
       LEFT JOIN pg_locks x ON l.pid IS NULL AND x.locktype = 'transactionid'
         AND x.virtualtransaction = l.virtualtransaction
       LEFT JOIN pg_prepared_xacts p ON p.transaction = x.transactionid
       WHERE l.granted AND l.pid IS DISTINCT FROM pg_backend_pid() AND (a.pid IS NOT NULL OR p.gid IS NOT NULL) AND (
         (l.locktype = 'relation' AND l.relation = to_regclass($1)) OR
         (l.locktype = 'advisory' AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((l.classid::bigint << 32) | l.objid::bigint) = ${ADVISORY_KEY.replace("$1", "$2")}))
       ORDER BY p.gid NULLS FIRST, a.pid LIMIT 3`,
      [table.qualified, table.schema],
    )
    .then(
      (result) => result.rows,
      () => [] as Holder[],
    );
  const who =
    holders.length === 0
      ? "its holder has gone since"
      : `held by ${holders.map(describeHolder).join("; ")}; end it with ` + holders.map(endHolder).join(", ");
  return new SalesDbError(
    "db_lock_timeout",
    `timed out after ${(waitedMs / 1000).toFixed(1)}s waiting for the lock on ${table.display}: ${who}, ` +
      `or allow a longer lock timeout; nothing written`,
  );
}

/** What ends a holder: its session, or, for a prepared transaction, the decision it waits for. */
function endHolder(holder: Holder): string {
  if (holder.gid !== null) {
    const gid = holder.gid.replace(/'/g, "''");
    return `COMMIT PREPARED '${gid}' or ROLLBACK PREPARED '${gid}'`;
  }
  return `SELECT pg_terminate_backend(${holder.pid})`;
}

function describeHolder(holder: Holder): string {
  if (holder.gid !== null) {
    return (
      `prepared transaction '${holder.gid}' (${holder.usename ? `user ${holder.usename}, ` : ""}prepared ` +
      `${holder.since ?? "earlier"}, waiting for COMMIT PREPARED or ROLLBACK PREPARED)`
    );
  }
  const what = [
    holder.application_name ? `application "${holder.application_name}"` : null,
    holder.usename ? `user ${holder.usename}` : null,
    holder.state ? `${holder.state}${holder.since ? ` since ${holder.since}` : ""}` : null,
  ].filter((part) => part !== null);
  return `pid ${holder.pid} (${what.join(", ")})`;
}
