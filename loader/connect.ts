import { Client } from "pg";
import { parse } from "pg-connection-string";
import { describe, SalesDbError } from "./errors";
import { silentLogger, type Logger } from "./log";

export interface ConnectOptions {
  /** `postgres://user:password@host:port/db`. */
  readonly connectionString: string;
  /** How long to keep retrying while the server is down or starting. Default 30 s. */
  readonly waitTimeoutMs?: number;
  /** Per-attempt connect timeout. Default 5 s. */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
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

export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return TRANSIENT_CODES.has(code);
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

/** `host:port/database` of a connection string, never its password. */
export function describeTarget(connectionString: string): string {
  const config = parse(connectionString);
  return `${config.host ?? "localhost"}:${config.port ?? 5432}/${config.database ?? ""}`;
}

/**
 * Connects, retrying with capped exponential backoff while the server refuses or is still starting.
 * On timeout the error says where it tried, for how long, and the last thing it saw.
 */
export async function connectWithRetry(options: ConnectOptions): Promise<Client> {
  const logger = options.logger ?? silentLogger;
  const waitTimeoutMs = options.waitTimeoutMs ?? 30_000;
  let target: string;
  try {
    target = describeTarget(options.connectionString);
  } catch {
    // Never echo the URL: it holds the password.
    throw new SalesDbError(
      "usage",
      "invalid database URL: expected postgres://user:password@host:port/database, with special characters " +
        "in the password percent-encoded",
    );
  }
  const started = Date.now();
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    const client = new Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      // A half-open connection (a port-forward that died) is noticed instead of hanging the load forever.
      keepAlive: true,
      application_name: "sales-db",
    });
    // A dropped connection is also reported through the pending query; without a listener it would crash the process.
    client.on("error", (error) => logger.debug(`connection to ${target} lost: ${describe(error)}`));
    try {
      await client.connect();
      if (attempt > 1) logger.info(`Connected to ${target} after ${attempt} attempts`);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      const elapsed = Date.now() - started;
      if (!isTransient(error)) throw connectError(error, target);
      if (elapsed + delay > waitTimeoutMs) {
        throw new SalesDbError(
          "db_unreachable",
          `could not connect to PostgreSQL at ${target} within ${(elapsed / 1000).toFixed(1)}s ` +
            `(${attempt} attempts); last error: ${describe(error)}`,
          { cause: error },
        );
      }
      logger.debug(`PostgreSQL at ${target} not ready (${describe(error)}); retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

function connectError(error: unknown, target: string): SalesDbError {
  const code = (error as { code?: unknown }).code;
  const reason = error instanceof Error ? error.message : String(error);
  if (code === "28P01" || code === "28000") {
    return new SalesDbError("db_auth", `PostgreSQL at ${target} refused the credentials: ${reason}`, {
      cause: error,
    });
  }
  return new SalesDbError("db_error", `cannot connect to PostgreSQL at ${target}: ${reason}`, {
    cause: error,
  });
}
