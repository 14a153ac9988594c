import { expect } from "chai";
import { closeSync, openSync, statSync, writeFileSync } from "node:fs";
import { HASH_AHEAD_FROM } from "../../loader/cli/launch";
import { cli, expectOneLineError, loadCsv, loadSample, salesCount } from "../support/cli";
import { csv, SAMPLE_CSV, SAMPLE_RULES, scratchFiles, validRows } from "../support/files";
import { copying, csvHeldOpen, loaderSessions, whileReading } from "../support/loading";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { waitFor } from "../support/wait";

describe("sales-db load (real PostgreSQL)", () => {
  const files = scratchFiles();
  let db: TestDatabase;
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("uses DATABASE_URL and reports the rows loaded and the table", async () => {
    const run = await cli(["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "--json"], {
      DATABASE_URL: db.url,
    });
    expect(run.code).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ loaded: 3, table: "sales", valid: 3, rejected: 3 });
    expect(await salesCount(db)).to.equal(3);
  });

  it("says which COPY format carried the rows, in --json and at -v: binary, text when asked, none when nothing was read", async () => {
    const formatOf = async (...extra: string[]) => {
      const run = await cli(loadSample(db.url, "--json", "-v", ...extra));
      expect(run.code, run.stderr).to.equal(0);
      const logged = /- DEBUG - COPY format (\w+): /.exec(run.stderr)?.[1] ?? null;
      return { json: (JSON.parse(run.stdout) as { copyFormat: unknown }).copyFormat, logged };
    };
    expect(await formatOf()).to.deep.equal({ json: "binary", logged: "binary" });
    expect(await formatOf()).to.deep.equal({ json: null, logged: null }); // the file last loaded: no COPY
    await db.query("DELETE FROM sales WHERE price < 30");
    expect(await formatOf("--copy-format", "text")).to.deep.equal({ json: "text", logged: "text" });
    expect(await salesCount(db)).to.equal(3);
  });

  it("a committed load stays a success when its report cannot be written (a full disk under stdout)", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const run = await cli(loadSample(db.url), {}, undefined, { stdout: full });
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stderr).to.match(
        /^sales-db: could not write to standard output \(ENOSPC\); the load itself completed$/m,
      );
    } finally {
      closeSync(full);
    }
    expect(await salesCount(db)).to.equal(3);
  });

  it("reloads a CSV large enough to be hashed ahead: unchanged writes nothing, the same size with other bytes loads", async () => {
    const rows = validRows(2_400_000);
    const file = await files().write("large.csv", rows);
    expect(statSync(file).size, "hashed ahead by the launcher").to.be.at.least(HASH_AHEAD_FROM);
    expect((await cli(loadCsv(file, db.url))).code).to.equal(0);
    const unchanged = await cli(loadCsv(file, db.url));
    expect(unchanged.code, unchanged.stderr).to.equal(0);
    expect(unchanged.stdout).to.contain("sales already holds these 2400000 rows; nothing written");
    // One row's quantity 1 -> 9, in place: same size, other bytes, other rows.
    writeFileSync(file, rows.replace("Halal Item 0,10.50,1\n", "Halal Item 0,10.50,9\n"));
    const edited = await cli(loadCsv(file, db.url));
    expect(edited.stdout, edited.stderr).to.contain("loaded 2400000 rows into sales");
    expect(await salesCount(db)).to.equal(2_400_000);
  });

  it("accepts libpq's key=value form and a URL with stray spaces", async () => {
    const url = new URL(db.url);
    const password = decodeURIComponent(url.password).replace(/\\/g, "\\\\").replace(/'/g, "\\'");
    const keywords = `host=${url.hostname} port=${url.port} dbname=${db.name} user=${url.username} password='${password}'`;
    expect((await cli(loadSample(keywords))).code).to.equal(0);
    expect((await cli(loadSample(`  ${db.url}\n`))).code).to.equal(0);
    expect(await salesCount(db)).to.equal(3);
  });

  it("a structural CSV error names file and line, and writes nothing", async () => {
    await cli(loadSample(db.url));
    const bad = await files().write("bad.csv", "product,price,quantity,colour\nHalal A,10,1,red\n");
    expectOneLineError(
      await cli(loadCsv(bad, db.url)),
      1,
      /^sales-db: .*bad\.csv:1: unknown column "colour"/,
    );
    expect(await salesCount(db)).to.equal(3);
  });

  it("--max-rejected-share fails the load before anything is written", async () => {
    expectOneLineError(
      await cli(loadSample(db.url, "--max-rejected-share", "0.25")),
      1,
      /3 of 6 rows rejected \(50\.0%\), more than the allowed 25\.0%; nothing written$/,
    );
    expect(await db.query("SELECT to_regclass('sales') IS NULL AS absent")).to.deep.equal([{ absent: true }]);
  });

  it("refuses a table it did not load, saying how to proceed, and replaces it only with the flag", async () => {
    await db.query("CREATE TABLE sales (id int); INSERT INTO sales SELECT generate_series(1, 1000)");
    expectOneLineError(
      await cli(loadSample(db.url)),
      1,
      /^sales-db: sales exists but was not loaded by sales-db .*nothing written; pass --replace-foreign-table to replace it anyway, or load into another --table$/,
    );
    expect(await salesCount(db)).to.equal(1000);
    expect((await cli(loadSample(db.url, "--replace-foreign-table"))).code).to.equal(0);
    expect(await salesCount(db)).to.equal(3);
  });

  it("refuses to empty a table unless --allow-empty", async () => {
    await cli(loadSample(db.url));
    const header = await files().write("header.csv", csv());
    const args = loadCsv(header, db.url);
    expectOneLineError(
      await cli(args),
      1,
      /would empty sales, which holds rows; nothing written; pass --allow-empty/,
    );
    expect((await cli([...args, "--allow-empty"])).code).to.equal(0);
    expect(await salesCount(db)).to.equal(0);
  });

  it("a lock timeout says who holds the lock", async () => {
    await cli(loadSample(db.url));
    const changed = await files().write("held.csv", csv("Halal Tea,1,1"));
    const run = await whileReading(db, () => cli(loadCsv(changed, db.url, "--lock-timeout", "0.5")));
    expectOneLineError(
      run,
      1,
      /held by pid \d+ \(application "report-job".*SELECT pg_terminate_backend\(\d+\)/,
    );
  });

  describe("killed or stalled", () => {
    /** Runs the CLI and SIGKILLs it once `ready` holds. */
    const killWhen = (args: string[], ready: () => Promise<boolean>) =>
      cli(args, {}, (pid) => {
        waitFor(ready)
          .then(() => process.kill(pid, "SIGKILL"))
          .catch(() => undefined);
      });

    it("SIGKILL in the middle of a large load leaves the previous rows", async () => {
      await cli(loadSample(db.url));
      const input = await csvHeldOpen(files(), "big.csv", 100_000);
      try {
        expect((await killWhen(loadCsv(input.path, db.url), () => copying(db))).signal).to.equal("SIGKILL");
      } finally {
        await input.release();
      }
      // The server notices the dropped connection and rolls back; wait for the backend to go away.
      await waitFor(async () => (await loaderSessions(db)) === 0);
      expect(await salesCount(db)).to.equal(3);
    });

    it("a killed CLI waiting for the table leaves no session and no lock behind", async () => {
      await cli(loadSample(db.url));
      const changed = await files().write("changed.csv", csv("Halal Tea,1,1"));
      const waiting = async () => (await loaderSessions(db, "l.locktype = 'advisory' AND l.granted")) > 0;
      await whileReading(db, async () => {
        const run = await killWhen(loadCsv(changed, db.url, "--lock-timeout", "60"), waiting);
        expect(run.signal).to.equal("SIGKILL");
        await waitFor(async () => (await loaderSessions(db)) === 0, 5_000);
      });
      expect(await salesCount(db)).to.equal(3);
    });

    it("a FIFO with no writer holds no connection: other loads go ahead", async () => {
      await cli(loadSample(db.url));
      const fifo = await files().fifo("waiting.csv");
      let blockedPid = 0;
      const blocked = cli(loadCsv(fifo, db.url), {}, (pid) => (blockedPid = pid));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await loaderSessions(db)).to.equal(0);
      const other = await files().write("other.csv", csv("Halal Other,10,1"));
      const run = await cli(loadCsv(other, db.url, "--lock-timeout", "5"));
      expect(run.code, run.stderr).to.equal(0);
      process.kill(blockedPid, "SIGKILL");
      expect((await blocked).signal).to.equal("SIGKILL");
    });
  });
});
