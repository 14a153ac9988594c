import { expect } from "chai";
import { createWriteStream } from "node:fs";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SalesDbError } from "../../../loader/errors";
import { rejectsWith } from "../../support/errors";
import { csv, SAMPLE_CSV, validRows } from "../../support/files";
import { copying, csvHeldOpen, loadFixture, loaderSessions, whileReading } from "../../support/loading";
import type { TestDatabase } from "../../support/postgres";
import { waitFor } from "../../support/wait";

describe("load: concurrency, locks and failures mid-load (real PostgreSQL)", () => {
  const t = loadFixture();

  it("keeps the previous rows when the connection is killed mid-load", async () => {
    await t.load(SAMPLE_CSV);
    const input = await csvHeldOpen(t.files, "killed.csv", 100_000);
    try {
      const loading = t.load(input.path).catch((e: unknown) => e);
      await waitFor(() => copying(t.db));
      await t.db.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sales-db' AND datname = current_database()",
      );
      // A read of a stalled pipe cannot be cut short: the load fails once its input moves again.
      await input.end();
      expect(await loading).to.be.instanceOf(SalesDbError);
    } finally {
      await input.release();
    }
    expect(await t.rows()).to.have.length(3);
  });

  for (const [end, sql, said] of [
    [
      "cancelled",
      "pg_cancel_backend",
      /loading sales failed: the load was cancelled \(a statement timeout, or pg_cancel_backend\)/,
    ],
    [
      "terminated",
      "pg_terminate_backend",
      /loading sales failed: the server ended the session \(terminating connection due to administrator command\)/,
    ],
  ] as const) {
    it(`a load ${end} mid-COPY says so, never that the database refused a row, and keeps the previous rows`, async () => {
      await t.load(SAMPLE_CSV);
      const input = await csvHeldOpen(t.files, `${end}.csv`, 100_000);
      try {
        const loading = t.load(input.path).catch((e: unknown) => e);
        await waitFor(() => copying(t.db));
        await t.db.query(
          `SELECT ${sql}(pid) FROM pg_stat_activity WHERE application_name = 'sales-db' AND datname = current_database()`,
        );
        await input.end();
        const error = (await loading) as SalesDbError;
        expect(error).to.be.instanceOf(SalesDbError);
        expect(error.message).to.match(said);
        expect(error.message).to.not.contain("refused this row");
      } finally {
        await input.release();
      }
      expect(await t.rows()).to.have.length(3);
    });
  }

  it("readers see the old rows or the new rows during a load, never an empty or partial table", async () => {
    await t.load(SAMPLE_CSV);
    const big = await t.files.write("readers.csv", validRows(200_000));
    let done = false;
    const counts = new Set<number>();
    const count = async () =>
      Number((await t.db.query<{ n: string }>("SELECT count(*) AS n FROM sales"))[0]?.n);
    const loading = t.load(big).finally(() => (done = true));
    while (!done) counts.add(await count());
    await loading;
    counts.add(await count());
    expect([...counts].sort((a, b) => a - b)).to.deep.equal([3, 200_000]);
  });

  it("serializes two concurrent loads and ends with exactly one file's rows", async () => {
    const a = await t.files.write("a.csv", validRows(50_000));
    const b = await t.files.write("b.csv", csv("Halal Only,10,1"));
    const [ra, rb] = await Promise.all([t.load(a), t.load(b)]);
    const [count] = await t.db.query<{ n: string }>("SELECT count(*) AS n FROM sales");
    const [meta] = await t.db.query<{ sha256: string }>(
      "SELECT sha256 FROM sales_db_seeds WHERE table_name = 'sales'",
    );
    const winner = [ra, rb].find((r) => r.sha256 === meta?.sha256);
    expect(winner, "the recorded hash is one of the two loads").to.not.equal(undefined);
    expect(Number(count?.n)).to.equal(winner?.valid);
  });

  it("never makes readers wait while a load waits for the table", async () => {
    await t.load(SAMPLE_CSV);
    const changed = await t.files.write("locks.csv", csv("Halal Tea,12.50,4"));
    const report = await whileReading(t.db, async (holder) => {
      const loading = t.load(changed, { lockTimeoutMs: 20_000 });
      await waitFor(async () => (await loaderSessions(t.db, "l.locktype = 'advisory' AND l.granted")) > 0);
      for (let i = 0; i < 5; i++) {
        // The server's lock_timeout bounds the reader's wait for a lock, and nothing else it does: a reader
        // queued behind the loader fails here, a slow machine does not.
        await readerWithTimeout(t.db, 1_000);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await holder.query("COMMIT");
      return loading;
    });
    expect(report).to.include({ changed: true, loaded: 1 });
  });

  it("a lock timeout names the session holding the table and how to end it", async () => {
    await t.load(SAMPLE_CSV);
    const changed = await t.files.write("timeout.csv", csv("Halal Tea,12.50,4"));
    await whileReading(t.db, async (holder) => {
      const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
      await rejectsWith(t.load(changed, { lockTimeoutMs: 700 }), {
        code: "db_lock_timeout",
        message: new RegExp(
          `held by pid ${pid} \\(application "report-job", user \\w+, idle in transaction since [^)]+\\); end it with SELECT pg_terminate_backend\\(${pid}\\)`,
        ),
      });
    });
    expect(await t.rows()).to.have.length(3);
  });

  it("a table dropped by another session while the load streams: the load swaps its rows in all the same", async () => {
    await t.load(SAMPLE_CSV);
    const input = await csvHeldOpen(t.files, "dropped.csv", 100_000);
    try {
      const loading = t.load(input.path);
      await waitFor(() => copying(t.db));
      await t.db.query("DROP TABLE sales");
      await input.end();
      expect(await loading).to.include({ changed: true, loaded: 100_000 });
    } finally {
      await input.release();
    }
    expect(await t.rows()).to.have.length(100_000);
    // The bookkeeping names the new table: the same rows again are known, and nothing is written.
    const same = await t.files.write("same.csv", validRows(100_000));
    expect(await t.load(same)).to.include({ changed: false, loaded: 0 });
  });

  it("a drop that holds the table while the load waits to swap: the load completes once the drop commits", async () => {
    await t.load(SAMPLE_CSV);
    const changed = await t.files.write("after-drop.csv", csv("Halal Tea,12.50,4"));
    const dropper = await t.db.connect("dropper");
    try {
      await dropper.query("BEGIN; DROP TABLE sales");
      const loading = t.load(changed, { lockTimeoutMs: 30_000 });
      // The load waits on the dropped table's lock (each try is short: readers are never queued behind it).
      await waitFor(async () => (await loaderSessions(t.db, "a.wait_event_type = 'Lock'")) > 0);
      await dropper.query("COMMIT");
      expect(await loading).to.include({ changed: true, loaded: 1 });
    } finally {
      await dropper.end();
    }
    expect(await t.rows()).to.deep.equal([{ product: "Halal Tea", price: 12.5, quantity: 4 }]);
  });

  it("waits for another sales-db write in the same schema (its advisory lock), naming the holder at the timeout", async () => {
    await t.load(SAMPLE_CSV);
    const changed = await t.files.write("advisory.csv", csv("Halal Tea,12.50,4"));
    const other = await t.db.connect("other-loader");
    try {
      // What a load of another table in the same schema holds while it writes.
      await other.query("BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('sales-db:' || 'public', 0))");
      const pid = (await other.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
      await rejectsWith(t.load(changed, { lockTimeoutMs: 700 }), {
        code: "db_lock_timeout",
        message: new RegExp(`held by pid ${pid} \\(application "other-loader"`),
      });
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    expect(await t.rows()).to.have.length(3);
    expect(await t.load(changed)).to.include({ changed: true, loaded: 1 });
  });

  it("takes no lock while reading the file: a slow input does not stop another load", async () => {
    await t.load(SAMPLE_CSV);
    const stalled = new PassThrough();
    stalled.write(csv("Halal Slow,10,1"));
    // A load whose input never ends, and another one that must get through meanwhile.
    const fifo = await t.files.fifo("stalled.csv");
    const writer = pipeline(stalled, createWriteStream(fifo)); // opening it for writing unblocks the reader
    const slow = t.load(fifo, { lockTimeoutMs: 20_000 }).catch((e: unknown) => e);
    await waitFor(async () => (await loaderSessions(t.db, "a.query LIKE 'COPY%'")) > 0);
    const other = await t.files.write("other.csv", csv("Halal Fast,10,1"));
    expect(await t.load(other, { lockTimeoutMs: 5_000 })).to.include({ changed: true });
    stalled.end();
    await writer;
    expect(await slow).to.include({ changed: true, loaded: 1 });
  });
});

/** A plain SELECT that fails if it has to wait longer than `timeoutMs` for a lock. */
async function readerWithTimeout(db: TestDatabase, timeoutMs: number): Promise<void> {
  const client = await db.connect("test-reader");
  try {
    await client.query(`SET lock_timeout = ${timeoutMs}`);
    await client.query("SELECT count(*) FROM sales");
  } finally {
    await client.end();
  }
}
