import type { Client } from "pg";
import { PINNED_SEARCH_PATH, target, type Target } from "./bookkeeping";
import { closeClient, connectionLoss, connectWithRetry, type ConnectOptions } from "./connection/connect";
import { commitWithin } from "./commit";
import { SalesDbError } from "../errors";
import { lockTimeoutMs } from "./lock-timeout";
import type { TableName } from "./table-name";

/** Where a loaded table is, and how long to wait for the lock on it and for its COMMIT. */
export interface TableOptions extends ConnectOptions {
  /** Target table, optionally schema-qualified. Default `sales`. */
  readonly table?: string;
  /** How long to wait for another load (or a reader) holding the table. Default 60 s. */
  readonly lockTimeoutMs?: number;
  /**
   * How long COMMIT may wait (for a synchronous standby) before it is cancelled; an outcome it cannot then confirm
   * is a `commit_unconfirmed` error. Default 60 s.
   */
  readonly commitTimeoutMs?: number;
}

/** What a transaction's work returns: its result, and whether to COMMIT (else ROLLBACK). */
export type Outcome<T> = { commit: boolean; result: T };

/**
 * One connection owns one transaction: BEGIN, the table's schema resolved, `work`, then COMMIT (or ROLLBACK when
 * `work` says so or fails), and the connection is closed whatever happens. Every failure is a SalesDbError; a
 * COMMIT whose outcome is not confirmed is `commit_unconfirmed` (see commit.ts).
 */
export async function inTransaction<T>(
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
    // From here on every name resolves in pg_catalog or is schema-qualified: a function or operator another role
    // created in a schema of the user's search_path cannot stand in for a built-in one.
    await client.query(`SET LOCAL search_path = ${PINNED_SEARCH_PATH}`);
    const { commit, result } = await work(client, table);
    open = false;
    if (commit) await commitWithin(client, options, table);
    else await client.query("ROLLBACK");
    return result;
  } catch (error) {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    throw asDatabaseError(error, name, connectionLoss(client));
  } finally {
    await closeClient(client);
  }
}

/** The schema an unqualified name lands in, as CREATE TABLE would pick it. */
async function resolve(client: Client, name: TableName): Promise<Target> {
  if (name.schema !== null) return target(name.display, name.schema, name.name);
  const result = await client.query<{ schema: string | null }>(
    "SELECT pg_catalog.current_schema() AS schema",
  );
  const schema = result.rows[0]?.schema;
  if (!schema || /^pg_/.test(schema)) {
    throw new SalesDbError(
      "usage",
      `no schema to create ${name.display} in (the search_path names no usable schema); use --table schema.table`,
    );
  }
  return target(name.display, schema, name.name);
}

/**
 * A failure as one line that names its cause. `loss`: why the connection had ended, when it had (the server's
 * FATAL for a session it ended while idle, which reaches no query: the query that follows only says the client is
 * not queryable).
 */
export function asDatabaseError(error: unknown, table: TableName, loss?: unknown): SalesDbError {
  if (error instanceof SalesDbError) return error;
  const cause = codeOf(error) === undefined && codeOf(loss) !== undefined ? loss : error;
  const code = codeOf(cause);
  const message = cause instanceof Error ? cause.message : String(cause);
  const fail = (code: "db_error" | "db_lock_timeout", text: string) =>
    new SalesDbError(code, text, { cause });
  if (code === "55P03")
    return fail("db_lock_timeout", `timed out waiting for a lock on ${table.display}: ${message}`);
  if (code === "2BP01") {
    return fail(
      "db_error",
      `cannot replace ${table.display}: other objects (views?) depend on it: ${message}`,
    );
  }
  if (code === "3F000")
    return fail("db_error", `cannot load ${table.display}: ${message}; create the schema first`);
  const known = SERVER_CAUSES.find(([state]) => typeof code === "string" && code.startsWith(state));
  if (known) {
    return fail(
      "db_error",
      `loading ${table.display} failed: ${known[1]} (${message}); nothing written: ${known[2]}`,
    );
  }
  // No SQLSTATE: the connection itself ended (a server stopped or failed over, a network or tunnel dropped).
  if (
    (code === undefined || /^E[A-Z]+$/.test(code)) &&
    /Connection terminated|ECONNRESET|EPIPE|not queryable/i.test(message)
  ) {
    return fail(
      "db_error",
      `loading ${table.display} failed: the connection to the server was lost (${message}); nothing written: ` +
        "load again once the server (or its new primary) accepts connections",
    );
  }
  return fail("db_error", `loading ${table.display} failed: ${message}`);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Failures of the server rather than of the data, by SQLSTATE (prefix): what happened, and what to do. They may
 * name the COPY row they met, which is not the row's fault.
 */
const SERVER_CAUSES: readonly (readonly [string, string, string])[] = [
  ["53100", "the database server's disk is full", "free space on its volume, or grow it, and load again"],
  ["53200", "the database server ran out of memory", "raise its memory, or load when it is less busy"],
  ["53", "the database server ran out of a resource", "see its log, and load again"],
  ["57014", "the load was cancelled (a statement timeout, or pg_cancel_backend)", "load again"],
  [
    "25P03",
    "the server ended the session because it sat idle in its transaction longer than " +
      "idle_in_transaction_session_timeout",
    "raise that setting for the loading role (ALTER ROLE … SET idle_in_transaction_session_timeout), or load again",
  ],
  [
    "25P04",
    "the server ended the session because its transaction ran longer than transaction_timeout",
    "raise that setting for the loading role, or load a smaller file",
  ],
  [
    "57P05",
    "the server ended the session because it sat idle longer than idle_session_timeout",
    "raise that setting for the loading role, or load again",
  ],
  [
    "25006",
    "the server is read-only now (a replica: the primary failed over or switched over during the load)",
    "load again, into the new primary",
  ],
  ["57P01", "the server ended the session", "load again"],
  ["57P", "the database server restarted during the load", "load again once it is up"],
  ["58", "the database server could not read or write its files", "see its log"],
];
