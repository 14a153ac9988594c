import type { Client } from "pg";
import type { Target } from "./bookkeeping";
import {
  closeClient,
  connectionLoss,
  connectWithRetry,
  destroySocket,
  type ConnectOptions,
} from "./connection/connect";
import { SalesDbError } from "../errors";

/** The bounds of a COMMIT (a TableOptions subset: this module sits below transaction.ts). */
interface CommitOptions extends ConnectOptions {
  readonly commitTimeoutMs?: number;
}

/** How long a cancelled COMMIT, and then the check of a lost one, may take: a cancel takes one round trip. */
const GRACE_MS = 5_000;

/** A notice the server sends when a COMMIT stops waiting for its synchronous standby: committed here, not there. */
const SYNC_REP_CANCELLED = /wait for synchronous replication/i;

type Settled = { ok: true } | { ok: false; error: unknown } | { ok: null };

/**
 * COMMIT, bounded. A COMMIT can wait without end for a synchronous standby that is not there (statement_timeout
 * does not end that wait; a cancel does): after `commitTimeoutMs` the COMMIT is cancelled through a second
 * connection, and after GRACE_MS more its socket is destroyed. Its outcome is then told as it is:
 * - committed, and confirmed: returns;
 * - committed on this server while its synchronous standby did not confirm it (the wait was cancelled or the
 *   session ended during it): `commit_unconfirmed`;
 * - the session ended before the COMMIT could take effect, or the server rolled it back: a `db_error` (nothing
 *   written);
 * - anything else (the connection lost mid-COMMIT): the transaction's fate is asked of the server on a new
 *   connection (pg_xact_status), and when even that cannot say, `commit_unconfirmed` with how to check.
 */
export async function commitWithin(client: Client, options: CommitOptions, table: Target): Promise<void> {
  const xid = await client.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid");
  const transaction = xid.rows[0]?.xid ?? "";
  const check = howToCheck(table, transaction, await recordedSha256(client, table));
  const timeoutMs = options.commitTimeoutMs ?? 60_000;
  const seen: { standby: string | null } = { standby: null };
  const onNotice = (notice: { message?: string }) => {
    if (SYNC_REP_CANCELLED.test(notice.message ?? "")) seen.standby = notice.message ?? "";
  };
  client.on("notice", onNotice);
  try {
    const committing: Promise<Settled> = client.query("COMMIT").then(
      () => ({ ok: true }),
      (error: unknown) => ({ ok: false, error }),
    );
    let settled = await within(committing, timeoutMs);
    let cancelled = false;
    if (settled.ok === null) {
      cancelled = await cancel(client, options);
      settled = await within(committing, GRACE_MS);
      if (settled.ok === null) destroySocket(client);
    }
    const waited = `${(timeoutMs / 1000).toFixed(1)}s`;
    if (settled.ok === true) {
      if (seen.standby === null) return;
      throw unconfirmed(
        `the load committed on this server, but its synchronous standby did not confirm it within ${waited} ` +
          `(synchronous_standby_names; ${firstSentence(seen.standby)}): the rows are visible here, and are lost ` +
          `if this server fails before a standby has them; ${check}`,
      );
    }
    if (settled.ok === false && endedBeforeCommit(settled.error, connectionLoss(client))) throw settled.error;
    const fate = await askFate(options, transaction);
    const how =
      settled.ok === null
        ? `no answer to COMMIT within ${waited}${cancelled ? ", even after it was cancelled" : ""}`
        : `the connection ended during COMMIT (${describeError(settled.error)})`;
    if (fate === "aborted") {
      throw new SalesDbError(
        "db_error",
        `loading ${table.display} failed: ${how}, and the server rolled it back; nothing written`,
        { cause: settled.ok === false ? settled.error : undefined },
      );
    }
    if (fate === "committed") {
      if (seen.standby === null) return;
      throw unconfirmed(
        `the load committed on this server (${how}), but its synchronous standby did not confirm it: the rows are ` +
          `visible here, and are lost if this server fails before a standby has them; ${check}`,
      );
    }
    throw unconfirmed(
      `cannot tell whether the load of ${table.display} took effect: ${how}, and ` +
        `${fate === null ? "the server could not be asked since" : `the server says it is still ${fate}`}; ${check}`,
    );
  } finally {
    client.off("notice", onNotice);
  }
}

/** How a user checks a load whose COMMIT is not confirmed: the transaction's fate, or the bookkeeping row. */
function howToCheck(table: Target, xid: string, sha256: string | null): string {
  return (
    `check with SELECT pg_xact_status('${xid}') (committed or aborted), or SELECT sha256, loaded_at FROM ` +
    `${table.meta} WHERE table_name = '${table.name.replace(/'/g, "''")}'` +
    (sha256 ? ` (sha256 ${sha256} is this load's)` : "")
  );
}

/** The sha256 this load recorded (read before COMMIT), or null (no bookkeeping, or its row was removed). */
async function recordedSha256(client: Client, table: Target): Promise<string | null> {
  const present = await client.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [
    table.meta,
  ]);
  if (!present.rows[0]?.present) return null;
  const row = await client.query<{ sha256: string | null }>(
    `SELECT sha256 FROM ONLY ${table.meta} WHERE table_name = $1`,
    [table.name],
  );
  return row.rows[0]?.sha256 ?? null;
}

function unconfirmed(message: string): SalesDbError {
  return new SalesDbError("commit_unconfirmed", message);
}

/** Whether the session had ended (the server's FATAL, or a closed connection) before COMMIT reached it. */
function endedBeforeCommit(error: unknown, loss: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  // Sessions the server ends only while they are idle, never while a COMMIT runs.
  if (code === "25P03" || code === "57P05") return true;
  // A connection lost before the COMMIT was written fails it at once with "not queryable".
  return loss !== undefined && /not queryable/.test(String((error as Error | undefined)?.message));
}

async function within(promise: Promise<Settled>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Settled>((resolve) => (timer = setTimeout(() => resolve({ ok: null }), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cancels what `client`'s session runs, from a connection of its own; whether the cancel was delivered. */
async function cancel(client: Client, options: ConnectOptions): Promise<boolean> {
  const pid = (client as unknown as { processID?: number }).processID;
  return aside(options, async (other) => {
    const result = await other.query<{ done: boolean }>("SELECT pg_catalog.pg_cancel_backend($1) AS done", [
      pid,
    ]);
    return result.rows[0]?.done === true;
  }).then((done) => done === true);
}

/** What the server says of the transaction: committed, aborted, in progress, or null when it cannot be asked. */
async function askFate(options: ConnectOptions, xid: string): Promise<string | null> {
  return aside(options, async (other) => {
    const result = await other.query<{ status: string | null }>(
      "SELECT pg_catalog.pg_xact_status($1::text::pg_catalog.xid8) AS status",
      [xid],
    );
    return result.rows[0]?.status ?? null;
  });
}

/** Runs `work` on a short-lived second connection, within GRACE_MS to connect; null when it fails. */
async function aside<T>(options: ConnectOptions, work: (client: Client) => Promise<T>): Promise<T | null> {
  let other: Client | null = null;
  try {
    other = await connectWithRetry({
      ...options,
      waitTimeoutMs: Math.min(options.waitTimeoutMs ?? GRACE_MS, GRACE_MS),
    });
    return await work(other);
  } catch {
    return null;
  } finally {
    if (other) await closeClient(other);
  }
}

function firstSentence(text: string): string {
  return text.split("\n")[0]?.replace(/\.$/, "") ?? text;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
