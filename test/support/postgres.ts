import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { startEmbeddedPostgres, type EmbeddedServer } from "../../loader/embedded/server";

/**
 * The PostgreSQL server the tests use: `DATABASE_URL` when set, else one embedded server started once for the run.
 * Tests never share a database: each gets its own from `createTestDatabase`.
 */
let embedded: EmbeddedServer | null = null;
/** The synchronous standby the embedded test server waits for, and which never connects. */
export const MISSING_STANDBY = "sales_db_missing_standby";
let serverUrl: string | null = null;

/**
 * The settings that let tests cause what shared, replicated and locked-down servers do: logical replication
 * (a publication and a subscription between two test databases), prepared transactions, and a synchronous standby
 * that never connects, which only a database set to `synchronous_commit = on` waits for (the default here is
 * `local`, so no other test's COMMIT waits).
 */
const TEST_SERVER_FLAGS = [
  ["fsync", "off"],
  ["wal_level", "logical"],
  ["max_prepared_transactions", "10"],
  ["synchronous_standby_names", MISSING_STANDBY],
  ["synchronous_commit", "local"],
].flatMap(([name, value]) => ["-c", `${name}=${value}`]);

/** `url` whose sessions wait for MISSING_STANDBY at COMMIT (`synchronous_commit = on` for them alone). */
export function waitingForStandby(url: string): string {
  const withOptions = new URL(url);
  withOptions.searchParams.set("options", "-c synchronous_commit=on");
  return withOptions.toString();
}

/** Whether the test server has MISSING_STANDBY (an external DATABASE_URL server may not). */
export async function standbyMissing(db: TestDatabase): Promise<boolean> {
  const [setting] = await db.query<{ names: string }>(
    "SELECT current_setting('synchronous_standby_names') AS names",
  );
  return setting?.names === MISSING_STANDBY;
}

export async function startTestServer(): Promise<void> {
  if (serverUrl) return;
  if (process.env.DATABASE_URL) {
    serverUrl = process.env.DATABASE_URL;
    return;
  }
  embedded = await startEmbeddedPostgres({ postgresFlags: TEST_SERVER_FLAGS });
  serverUrl = embedded.connectionString;
}

export async function stopTestServer(): Promise<void> {
  await embedded?.stop();
  embedded = null;
  serverUrl = null;
}

export function testServerUrl(): string {
  if (!serverUrl) {
    throw new Error(
      "no test server: a test that needs PostgreSQL goes in a *.pg.test.ts file (npm test starts the server in test/setup.ts)",
    );
  }
  return serverUrl;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Runs one query on a short-lived connection. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A connection of its own (to hold a transaction open), named `application`; the caller ends it. */
  connect(application: string): Promise<Client>;
  drop(): Promise<void>;
}

/** A fresh database on the test server, dropped (with its connections) by `drop`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `sales_db_test_${randomBytes(6).toString("hex")}`;
  await withClient(testServerUrl(), (client) => client.query(`CREATE DATABASE "${name}"`));
  const target = new URL(testServerUrl());
  target.pathname = `/${name}`;
  const url = target.toString();
  return {
    url,
    name,
    query: <T extends object>(sql: string, params?: unknown[]) =>
      withClient(url, async (client) => (await client.query<T>(sql, params)).rows),
    async connect(application) {
      const client = new Client({ connectionString: url, application_name: application });
      await client.connect();
      return client;
    },
    drop: () =>
      withClient(testServerUrl(), (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      ).then(() => undefined),
  };
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs `work` with a second role of the test server (NOLOGIN, allowed to create in the test database's `public`
 * schema, as a neighbour on a shared database may be), then drops what it owns and the role, whatever happens.
 */
export async function withOtherRole<T>(db: TestDatabase, work: (role: string) => Promise<T>): Promise<T> {
  const role = `sales_db_other_${randomBytes(4).toString("hex")}`;
  await db.query(`CREATE ROLE "${role}"; GRANT CREATE ON SCHEMA public TO "${role}"`);
  try {
    return await work(role);
  } finally {
    await db.query(`DROP OWNED BY "${role}" CASCADE`);
    await withClient(testServerUrl(), (client) => client.query(`DROP ROLE "${role}"`));
  }
}
