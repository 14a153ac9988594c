import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { SAMPLE_CSV } from "../../../support/files";
import { loadFixture } from "../../../support/loading";
import { createTestDatabase, testServerUrl, type TestDatabase } from "../../../support/postgres";
import { waitFor } from "../../../support/wait";

/** libpq's key=value string for `db` on the test server, for a subscription (which takes no URL). */
function conninfo(db: TestDatabase): string {
  const url = new URL(testServerUrl());
  const quote = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return [
    `host=${quote(url.hostname)}`,
    `port=${url.port || "5432"}`,
    `user=${quote(decodeURIComponent(url.username))}`,
    `password=${quote(decodeURIComponent(url.password))}`,
    `dbname=${quote(db.name)}`,
  ].join(" ");
}

/**
 * A write that reaches the table through logical replication: the apply worker fires row-level triggers only (and
 * TRUNCATE's statement trigger), never an INSERT, UPDATE or DELETE statement trigger. The publisher is another
 * database of the same server; the slot is made apart, since CREATE SUBSCRIPTION making a slot on its own server
 * would wait for itself.
 */
describe("tamper detection under logical replication (real PostgreSQL, wal_level=logical)", () => {
  const t = loadFixture();

  /**
   * Runs `work` with a publisher database whose `sales` holds the sample's valid rows and publishes its changes,
   * and a `subscribe` that (re)subscribes the test database's `sales` to it; everything is dropped afterwards
   * (before the fixture drops the test database, which a subscription would keep).
   */
  async function withPublisher(
    work: (publisher: TestDatabase, subscribe: () => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const name = `sales_db_test_${randomBytes(4).toString("hex")}`;
    const publisher = await createTestDatabase();
    try {
      await publisher.query(`CREATE TABLE sales (product text, price real, quantity integer);
        ALTER TABLE sales REPLICA IDENTITY FULL;
        INSERT INTO sales VALUES ('Halal Laptop', 999.99, 2), ('Halal Mouse', 24.99, 10), ('Halal Keyboard', 49.99, 5);
        CREATE PUBLICATION ${name} FOR TABLE sales`);
      await publisher.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
      // A reload replaces the table, and a subscription only follows the tables it was refreshed with.
      const subscribe = async () => {
        const exists = await t.db.query("SELECT 1 FROM pg_subscription WHERE subname = $1", [name]);
        if (exists.length === 0) {
          await t.db.query(
            `CREATE SUBSCRIPTION ${name} CONNECTION '${conninfo(publisher).replace(/'/g, "''")}'
             PUBLICATION ${name} WITH (create_slot = false, slot_name = '${name}', copy_data = false)`,
          );
        } else {
          await t.db.query(`ALTER SUBSCRIPTION ${name} REFRESH PUBLICATION WITH (copy_data = false)`);
        }
        await waitFor(async () => {
          const ready = await t.db.query(
            `SELECT 1 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = $1 AND r.srrelid = 'sales'::regclass AND r.srsubstate = 'r'`,
            [name],
          );
          return ready.length === 1;
        });
      };
      await work(publisher, subscribe);
    } finally {
      await t.db.query(`DROP SUBSCRIPTION IF EXISTS ${name}`); // drops its slot on the publisher too
      await publisher.query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        [name],
      );
      await publisher.drop();
    }
  }

  beforeEach(async function () {
    const [level] = await t.db.query<{ wal_level: string }>("SHOW wal_level");
    if (level?.wal_level !== "logical") this.skip();
  });

  const writes: [string, string, (rows: { product: string; quantity: number }[]) => boolean][] = [
    ["INSERT", "INSERT INTO sales VALUES ('Halal Replicated', 1, 1)", (rows) => rows.length === 4],
    [
      "UPDATE",
      "UPDATE sales SET quantity = 99 WHERE product = 'Halal Mouse'",
      (rows) => rows.some((row) => row.quantity === 99),
    ],
    ["DELETE", "DELETE FROM sales WHERE product = 'Halal Mouse'", (rows) => rows.length === 2],
    ["TRUNCATE", "TRUNCATE sales", (rows) => rows.length === 0],
  ];
  for (const [write, sql, applied] of writes) {
    it(`${write} applied by a subscription flags the table: a reload of the same file restores its rows`, async () => {
      await withPublisher(async (publisher, subscribe) => {
        await t.load(SAMPLE_CSV);
        const loaded = await t.rows();
        await subscribe();
        await publisher.query(sql);
        await waitFor(async () => applied(await t.rows()));
        expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
        expect(await t.rows()).to.deep.equal(loaded);
        // The reloaded table is protected in the same way: a replicated row is seen there too.
        await subscribe();
        await publisher.query("INSERT INTO sales VALUES ('Halal Again', 1, 1)");
        await waitFor(async () => (await t.rows()).length === 4);
        expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
      });
    });
  }
});
