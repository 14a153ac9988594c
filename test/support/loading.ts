import { constants, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import type { Client } from "pg";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { loadSales, type LoadOptions } from "../../loader/db/load";
import type { LoadReport } from "../../loader/rules/report";
import { loadRules, type RuleSet } from "../../loader/rules/rules-file";
import { SAMPLE_RULES, scratchFiles, validRows, type Scratch } from "./files";
import { createTestDatabase, type TestDatabase } from "./postgres";

export type Row = { product: string; price: number; quantity: number };

/** What a test of loads works with: a fresh database per test, a scratch folder, the sample rules. */
export interface LoadFixture {
  readonly db: TestDatabase;
  readonly files: Scratch;
  readonly rules: RuleSet;
  /** Loads `file` into this test's database with the sample rules, plus `extra` options. */
  load(file: string, extra?: Partial<LoadOptions>): Promise<LoadReport>;
  /** The rows of `sales`, ordered by product. */
  rows(): Promise<Row[]>;
}

/** Registers the hooks of a describe block that tests loads, and returns its fixture (ready inside tests). */
export function loadFixture(): LoadFixture {
  let db: TestDatabase | undefined;
  let rules: RuleSet | undefined;
  const files = scratchFiles();
  before(async () => (rules = await loadRules(SAMPLE_RULES)));
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db?.drop());
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the load fixture is used outside a test");
    return value;
  };
  return {
    get db() {
      return ready(db);
    },
    get files() {
      return files();
    },
    get rules() {
      return ready(rules);
    },
    load(file, extra = {}) {
      return loadSales({ connectionString: ready(db).url, file, rules: ready(rules), ...extra });
    },
    rows() {
      return ready(db).query<Row>("SELECT product, price, quantity FROM sales ORDER BY product");
    },
  };
}

/** sales-db sessions in the test database whose activity or locks match `condition` (over pg_stat_activity a and pg_locks l). */
export async function loaderSessions(db: TestDatabase, condition = "true"): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(DISTINCT a.pid)::int AS n FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid
     WHERE a.application_name = 'sales-db' AND a.datname = current_database() AND (${condition})`,
  );
  return row?.n ?? 0;
}

/** Whether a COPY into the test database has stored rows yet. */
export async function copying(db: TestDatabase): Promise<boolean> {
  const rows = await db.query(
    "SELECT pid FROM pg_stat_progress_copy WHERE datname = current_database() AND tuples_processed > 0",
  );
  return rows.length > 0;
}

/**
 * Runs `work` while a session named report-job reads `sales` in an open transaction, so that a load must wait for
 * its lock to swap the table; the session ends afterwards, whatever happens.
 */
export async function whileReading<T>(db: TestDatabase, work: (holder: Client) => Promise<T>): Promise<T> {
  const holder = await db.connect("report-job");
  try {
    await holder.query("BEGIN; SELECT count(*) FROM sales");
    return await work(holder);
  } finally {
    await holder.end();
  }
}

/** A CSV that a load reads from a FIFO: written up to a point, then held open until the test ends it. */
export interface HeldOpenCsv {
  readonly path: string;
  /** Ends the file, so that a load still reading it can finish. */
  end(): Promise<void>;
  /** Unblocks and drops the writer whatever became of the reader (for `finally`). */
  release(): Promise<void>;
}

/**
 * `rows` valid rows in a FIFO whose end the test decides: a load of it is certainly still in its COPY when the test
 * acts (kills it, drops its table), however fast or slow the machine, instead of racing a file it may have finished.
 */
export async function csvHeldOpen(files: Scratch, name: string, rows: number): Promise<HeldOpenCsv> {
  const path = await files.fifo(name);
  const body = new PassThrough();
  // Opening a FIFO for writing waits for its reader; a reader that dies makes the writes fail (EPIPE): both fine.
  const writing = pipeline(body, createWriteStream(path)).catch(() => undefined);
  body.write(validRows(rows));
  return {
    path,
    async end() {
      body.end();
      await writing;
    },
    async release() {
      body.destroy();
      // A writer still waiting for a reader would keep the process alive: a reader of our own lets it go.
      const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      await reader.close();
      await writing;
    },
  };
}
