import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { Socket } from "node:net";
import { Client } from "./pg";
import { describeTarget, parseConnectionString, redact, secretsOf } from "./connection-string";
import { describe, SalesDbError } from "../../errors";
import { silentLogger, type Logger } from "../../log";

export interface ConnectOptions {
  /** A libpq connection string: `postgresql://user:password@host:port/db?sslmode=…` or `host=… dbname=…`. */
  readonly connectionString: string;
  /** How long to keep retrying while the server is down or starting. Default 30 s. */
  readonly waitTimeoutMs?: number;
  /** Per-attempt connect timeout. Default 5 s. */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
  /**
   * TLS settings that replace the connection string's (a CA and the name the server's certificate must carry, for
   * a server reached through a tunnel on 127.0.0.1). Default: the connection string's sslmode.
   */
  readonly tls?: TlsOptions;
}

// Errors a starting or restarting server gives: worth another try.
const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EAI_AGAIN",
  "EPIPE",
  "57P03", // cannot_connect_now: the database system is starting up
  "53300", // too_many_connections
]);
const TRANSIENT_MESSAGES = /Connection terminated|timeout expired|server closed the connection/i;

/** Why each connection ended before the loader closed it: the server's own error when it sent one. */
const lost = new WeakMap<Client, unknown>();

/** Why `client`'s connection ended, if it has; the server's FATAL (with its SQLSTATE) when there was one. */
export function connectionLoss(client: Client): unknown {
  return lost.get(client);
}

/** How long closing a connection may take before its socket is destroyed (a peer that stopped answering). */
const CLOSE_MS = 2_000;

/** Ends `client`'s connection, within CLOSE_MS; never throws. */
export async function closeClient(client: Client): Promise<void> {
  lost.set(client, lost.get(client) ?? new Error("closed by sales-db"));
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_MS)));
  await Promise.race([ended, late]);
  clearTimeout(timer);
  destroySocket(client);
}

/** Destroys `client`'s socket at once: what is under way on it fails, and nothing more is waited for. */
export function destroySocket(client: Client): void {
  socketOf(client)?.destroy();
}

/** The socket (plain or TLS) `client` talks to the server through, once it has one. */
export function socketOf(client: Client): Socket | undefined {
  return (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return TRANSIENT_CODES.has(code);
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

/**
 * Session settings that end an orphaned session promptly: the server polls a client it has not heard from
 * (client_connection_check_interval, PostgreSQL 14+) and probes idle TCP connections, so a killed or lost
 * loader does not keep its transaction and locks. Settings the server does not know are skipped.
 */
const SESSION_SETTINGS: readonly [string, string][] = [
  ["client_connection_check_interval", "2000"],
  ["tcp_keepalives_idle", "10"],
  ["tcp_keepalives_interval", "5"],
  ["tcp_keepalives_count", "3"],
];

/**
 * Connects, retrying with capped exponential backoff while the server refuses or is still starting, for at most
 * `waitTimeoutMs` in all (each attempt is cut to the time left). On timeout the error says where it tried, for
 * how long, and the last thing it saw.
 */
export async function connectWithRetry(options: ConnectOptions): Promise<Client> {
  const logger = options.logger ?? silentLogger;
  const waitTimeoutMs = options.waitTimeoutMs ?? 30_000;
  const config = parseConnectionString(options.connectionString);
  const target = describeTarget(options.connectionString);
  const secrets = secretsOf(options.connectionString);
  const started = Date.now();
  const deadline = started + waitTimeoutMs;
  let delay = 100;
  const connectTimeoutMs = config.connectionTimeoutMillis ?? options.connectTimeoutMs ?? 5_000;
  // What the server or the network last answered, not counting attempts cut short by the deadline.
  let lastAnswer: unknown = undefined;
  for (let attempt = 1; ; attempt++) {
    const left = Math.max(1, deadline - Date.now());
    const client = new Client({
      ...config,
      ...(options.tls ? { ssl: options.tls } : {}),
      connectionTimeoutMillis: Math.min(connectTimeoutMs, left),
      // A half-open connection (a port-forward that died) is noticed instead of hanging the load forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: config.application_name ?? "sales-db",
    });
    // A dropped connection is also reported through the pending query; without a listener it would crash the process.
    // What the server said when it ended an idle session (a FATAL with its SQLSTATE) reaches no query: it is kept,
    // so that the next query's "not queryable" can be reported by its cause.
    client.on("error", (error) => {
      if (!lost.has(client)) lost.set(client, error);
      logger.debug(`connection to ${target} lost: ${redact(describe(error), secrets)}`);
    });
    client.on("end", () => {
      if (!lost.has(client)) lost.set(client, new Error("Connection terminated"));
    });
    try {
      await client.connect();
      await client.query(
        // Schema-qualified: the user's search_path is still in force here.
        `SELECT pg_catalog.set_config(s.name, s.value, false) FROM (VALUES ${SESSION_SETTINGS.map(
          (_, i) => `($${2 * i + 1}::text, $${2 * i + 2}::text)`,
        ).join(", ")}) AS s(name, value)
         WHERE s.name OPERATOR(pg_catalog.=) ANY (SELECT name FROM pg_catalog.pg_settings)`,
        SESSION_SETTINGS.flat(),
      );
      if (attempt > 1) logger.info(`Connected to ${target} after ${attempt} attempts`);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const elapsed = Date.now() - started;
      if (!isTransient(error)) throw connectError(error, target, secrets);
      // An attempt cut short by the deadline only ran out of time: the last real answer says more.
      const cutShort =
        left < connectTimeoutMs && error instanceof Error && error.message === "timeout expired";
      if (!cutShort) lastAnswer = error;
      if (Date.now() >= deadline) {
        const last =
          lastAnswer === undefined || lastAnswer === error
            ? describe(error)
            : `${describe(lastAnswer)}, then no answer in the time left`;
        throw new SalesDbError(
          "db_unreachable",
          `could not connect to PostgreSQL at ${target} within ${(elapsed / 1000).toFixed(1)}s ` +
            `(${attempt} attempts); last error: ${redact(last, secrets)}`,
          { cause: lastAnswer ?? error },
        );
      }
      logger.debug(
        `PostgreSQL at ${target} not ready (${redact(describe(error), secrets)}); retrying in ${delay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, deadline - Date.now())));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

function connectError(error: unknown, target: string, secrets: readonly string[]): SalesDbError {
  const code = (error as { code?: unknown }).code;
  const reason = redact(error instanceof Error ? error.message : String(error), secrets);
  if (code === "28P01" || code === "28000") {
    return new SalesDbError("db_auth", `PostgreSQL at ${target} refused the credentials: ${reason}`, {
      cause: error,
    });
  }
  return new SalesDbError("db_error", `cannot connect to PostgreSQL at ${target}: ${reason}`, {
    cause: error,
  });
}
