import { expect } from "chai";
import type { Client } from "pg";
import { rejectsWith } from "../../support/errors";
import { csv, SAMPLE_CSV } from "../../support/files";
import { csvHeldOpen, loadFixture, loaderSessions } from "../../support/loading";
import { waitFor } from "../../support/wait";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("load: lock waits on a shared database (real PostgreSQL)", () => {
  const t = loadFixture();
  const changed = () => t.files.write("changed.csv", csv("Halal Tea,12.50,4"));
  const tea = [{ product: "Halal Tea", price: 12.5, quantity: 4 }];

  /** A session of its own holding `sales` in an open transaction (immune to a role's idle timeouts). */
  async function holdSales(): Promise<Client> {
    const holder = await t.db.connect("report-job");
    await holder.query("SET idle_in_transaction_session_timeout = 0; BEGIN; SELECT count(*) FROM sales");
    return holder;
  }
  /** Whether the load has reached its tries for the table's lock (its savepoint), or has ended. */
  const tryingTheTable = (loading: { settled: boolean }) => async () =>
    loading.settled || (await loaderSessions(t.db, "a.query LIKE '%sales_db_lock%'")) > 0;
  const track = <T>(promise: Promise<T>) => {
    const state = { settled: false, promise: promise.finally(() => (state.settled = true)) };
    return state;
  };

  describe("locks", () => {
    it("the lock timeout counts only the wait for the lock: an input slower than it still gets the whole wait", async () => {
      await t.load(SAMPLE_CSV);
      const holder = await holdSales();
      const input = await csvHeldOpen(t.files, "slow.csv", 100_000);
      try {
        const loading = track(t.load(input.path, { lockTimeoutMs: 5_000 }).catch((e: unknown) => e));
        await waitFor(() => copying());
        await pause(5_500); // the input stalls for longer than the whole lock timeout
        await input.end();
        await waitFor(tryingTheTable(loading));
        await holder.query("COMMIT");
        expect(await loading.promise).to.include({ changed: true, loaded: 100_000 });
      } finally {
        await input.release();
        await holder.end();
      }
    });

    it("a role's idle_in_transaction_session_timeout shorter than a pause between tries does not end the load", async () => {
      await t.load(SAMPLE_CSV);
      await t.db.query(
        `ALTER ROLE CURRENT_USER IN DATABASE "${t.db.name}" SET idle_in_transaction_session_timeout = '900ms'`,
      );
      const holder = await holdSales();
      try {
        const loading = track(t.load(await changed(), { lockTimeoutMs: 20_000 }).catch((e: unknown) => e));
        await waitFor(tryingTheTable(loading));
        await pause(4_000); // long enough for a pause of 1 s between tries, had it been kept
        expect(loading.settled, "the load ended while the table was held").to.equal(false);
        await holder.query("COMMIT");
        expect(await loading.promise).to.include({ changed: true, loaded: 1 });
      } finally {
        await holder.end();
      }
      expect(await t.rows()).to.deep.equal(tea);
    });

    it("a session the server ends for idling in its transaction says so, and writes nothing", async () => {
      await t.load(SAMPLE_CSV);
      await t.db.query(
        `ALTER ROLE CURRENT_USER IN DATABASE "${t.db.name}" SET idle_in_transaction_session_timeout = '200ms'`,
      );
      // The report is rendered before COMMIT; a slow one keeps the transaction idle.
      const slowReport = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
      await rejectsWith(t.load(await changed(), { onReport: slowReport }), {
        code: "db_error",
        message:
          /^loading sales failed: the server ended the session because it sat idle in its transaction longer than idle_in_transaction_session_timeout \(.*\); nothing written: raise that setting/,
      });
      expect(await t.rows()).to.have.length(3);
    });

    it("a lock held by a prepared transaction is named as one, with what ends it", async function () {
      const [setting] = await t.db.query<{ n: string }>(
        "SELECT current_setting('max_prepared_transactions') AS n",
      );
      if (setting?.n === "0") this.skip(); // a DATABASE_URL server without prepared transactions
      await t.load(SAMPLE_CSV);
      const gid = `sales_db_test_${t.db.name}`;
      await t.db.query(`BEGIN; LOCK TABLE sales IN ACCESS SHARE MODE; PREPARE TRANSACTION '${gid}'`);
      try {
        await rejectsWith(t.load(await changed(), { lockTimeoutMs: 700 }), {
          code: "db_lock_timeout",
          message: new RegExp(
            `held by prepared transaction '${gid}' \\(user \\w+, prepared [^,]+, waiting for COMMIT PREPARED or ` +
              `ROLLBACK PREPARED\\); end it with COMMIT PREPARED '${gid}' or ROLLBACK PREPARED '${gid}', or allow`,
          ),
        });
      } finally {
        await t.db.query(`ROLLBACK PREPARED '${gid}'`);
      }
      expect(await t.load(await changed())).to.include({ changed: true });
    });
  });

  async function copying(): Promise<boolean> {
    const rows = await t.db.query(
      "SELECT pid FROM pg_stat_progress_copy WHERE datname = current_database() AND tuples_processed > 0",
    );
    return rows.length > 0;
  }
});
