import { expect } from "chai";
import { SalesDbError } from "../../../loader/errors";
import { rejectsWith } from "../../support/errors";
import { csv, SAMPLE_CSV } from "../../support/files";
import { loadFixture, loaderSessions } from "../../support/loading";
import { standbyMissing, waitingForStandby } from "../../support/postgres";
import { tcpProxy } from "../../support/stand-ins/tcp-proxy";
import { waitFor } from "../../support/wait";

describe("load: a bounded COMMIT, and its outcome told (real PostgreSQL)", () => {
  const t = loadFixture();
  const changed = () => t.files.write("changed.csv", csv("Halal Tea,12.50,4"));
  const tea = [{ product: "Halal Tea", price: 12.5, quantity: 4 }];

  describe("COMMIT with a synchronous standby that never confirms", () => {
    beforeEach(async function () {
      if (!(await standbyMissing(t.db))) this.skip();
    });

    it("ends within the commit timeout, and says the rows are committed here but not confirmed by the standby", async () => {
      await t.load(SAMPLE_CSV);
      const error = await rejectsWith(
        t.load(await changed(), { connectionString: waitingForStandby(t.db.url), commitTimeoutMs: 1_000 }),
        {
          code: "commit_unconfirmed",
          message:
            /^the load committed on this server, but its synchronous standby did not confirm it within 1\.0s \(synchronous_standby_names; canceling wait for synchronous replication due to user request\): .*; check with SELECT pg_xact_status\('\d+'\)/,
        },
      );
      const [recorded] = await t.db.query<{ sha256: string }>("SELECT sha256 FROM sales_db_seeds");
      expect(error.message).to.contain(`(sha256 ${recorded?.sha256} is this load's)`);
      expect(await t.rows()).to.deep.equal(tea);
    });

    it("a session ended while its COMMIT waits: committed here (the server says so), not confirmed", async () => {
      await t.load(SAMPLE_CSV);
      const loading = t.load(await changed(), { connectionString: waitingForStandby(t.db.url) });
      const outcome = loading.catch((e: unknown) => e);
      await waitFor(async () => (await loaderSessions(t.db, "a.wait_event = 'SyncRep'")) > 0);
      await t.db.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND datname = current_database()",
      );
      const error = (await outcome) as SalesDbError;
      expect(error).to.be.instanceOf(SalesDbError);
      expect(error.code, error.message).to.equal("commit_unconfirmed");
      expect(error.message).to.match(
        /^the load committed on this server \(the connection ended during COMMIT \(Connection terminated unexpectedly\)\), but its synchronous standby did not confirm it: .*pg_xact_status/,
      );
      expect(await t.rows()).to.deep.equal(tea);
    });

    it("a network that stops answering during COMMIT: bounded, and told as unknown with how to check", async () => {
      await t.load(SAMPLE_CSV);
      const proxy = await tcpProxy(t.db.url);
      try {
        const loading = t
          .load(await changed(), {
            connectionString: waitingForStandby(proxy.url),
            commitTimeoutMs: 1_000,
            waitTimeoutMs: 1_000,
          })
          .catch((e: unknown) => e);
        await waitFor(async () => (await loaderSessions(t.db, "a.wait_event = 'SyncRep'")) > 0);
        proxy.freeze();
        const error = (await loading) as SalesDbError;
        expect(error).to.be.instanceOf(SalesDbError);
        expect(error.code).to.equal("commit_unconfirmed");
        expect(error.message).to.match(
          /^cannot tell whether the load of sales took effect: no answer to COMMIT within 1\.0s, and the server could not be asked since; check with SELECT pg_xact_status\('(\d+)'\)/,
        );
        const xid = /pg_xact_status\('(\d+)'\)/.exec(error.message)?.[1];
        // What the message tells the user to run: the session still waits for its standby.
        expect(await t.db.query("SELECT pg_xact_status($1::xid8) AS status", [xid])).to.deep.equal([
          { status: "in progress" },
        ]);
      } finally {
        await proxy.close();
      }
    });
  });
});
