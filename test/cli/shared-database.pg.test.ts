import { expect } from "chai";
import { cli, expectOneLineError, loadCsv, loadSample, salesCount } from "../support/cli";
import { csv, scratchFiles } from "../support/files";
import {
  createTestDatabase,
  standbyMissing,
  waitingForStandby,
  type TestDatabase,
} from "../support/postgres";

/** The command on a database it shares: what it says, and the status it exits with. */
describe("sales-db load on a shared, replicated or locked-down database (real PostgreSQL)", () => {
  const files = scratchFiles();
  let db: TestDatabase;
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("3: a COMMIT its synchronous standby does not confirm within --commit-timeout, with how to check", async function () {
    if (!(await standbyMissing(db))) this.skip();
    expect((await cli(loadSample(db.url))).code).to.equal(0);
    const changed = await files().write("changed.csv", csv("Halal Tea,12.50,4"));
    const run = await cli(loadCsv(changed, waitingForStandby(db.url), "--commit-timeout", "0.5"));
    expectOneLineError(
      run,
      3,
      /^sales-db: the load committed on this server, but its synchronous standby did not confirm it within 0\.5s .*; check with SELECT pg_xact_status\('\d+'\) \(committed or aborted\), or SELECT sha256, loaded_at FROM "public"\."sales_db_seeds" WHERE table_name = 'sales' \(sha256 [0-9a-f]{64} is this load's\)$/,
    );
    expect(run.stdout).to.equal("");
    expect(await salesCount(db)).to.equal(1);
  });

  it('--table Sales is the table sales, as PostgreSQL folds it; "Sales" in quotes is another one', async () => {
    expect((await cli(loadSample(db.url))).code).to.equal(0);
    const folded = await cli(loadSample(db.url, "--table", "Sales", "--json"));
    expect(folded.code, folded.stderr).to.equal(0);
    expect(JSON.parse(folded.stdout)).to.include({ table: "Sales", changed: false, loaded: 0 });
    const quoted = await cli(loadSample(db.url, "--table", '"Sales"', "--json"));
    expect(JSON.parse(quoted.stdout)).to.include({ table: '"Sales"', changed: true, loaded: 3 });
    const tables = await db.query<{ name: string }>(
      "SELECT relname AS name FROM pg_class WHERE relname ILIKE 'sales' ORDER BY 1",
    );
    expect(tables.map((table) => table.name)).to.deep.equal(["Sales", "sales"]);
  });

  it("a newline in the file's or the table's name keeps every line of output one line", async () => {
    const name = await files().write("two\nlines.csv", csv("Halal Tea,12.50,4", "Bad,1,1"));
    const table = '"new\nline"';
    const text = await cli(loadCsv(name, db.url, "--table", table));
    expect(text.code, text.stderr).to.equal(0);
    for (const line of text.stderr.trimEnd().split("\n"))
      expect(line).to.match(/^\d{4}-\d\d-\d\d .* - [A-Z]+ - /);
    expect(text.stderr).to.contain("two\\u000alines.csv");
    expect(text.stdout.split("\n")[0]).to.match(/two\\u000alines\.csv: 1 valid, 1 rejected/);
    expect(text.stdout).to.contain('loaded 1 rows into "new\\u000aline"');
    const json = await cli(loadCsv(name, db.url, "--table", table, "--json"));
    expect(json.stdout.trimEnd().split("\n")).to.have.length(1);
    expect(JSON.parse(json.stdout)).to.include({ file: name, table, changed: false });
    const refused = await cli(loadCsv(`${name}.missing`, db.url));
    expectOneLineError(refused, 1, /two\\u000alines\.csv\.missing: cannot read CSV file \(ENOENT\)$/);
  });

  it("load --json with a password equal to a JSON literal stays whole, its values unchanged", async () => {
    for (const [password, changed] of [
      ["true", true],
      ["false", false],
    ] as const) {
      const run = await cli(loadSample(db.url, "--json"), { PGPASSWORD: password });
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout), password).to.include({
        valid: 3,
        table: "sales",
        changed,
        validated: changed,
      });
    }
  });

  it("connects through a service of pg_service.conf, named by service= or PGSERVICE, never printing its password", async () => {
    const url = new URL(db.url);
    const password = decodeURIComponent(url.password);
    const services = await files().write(
      "pg_service.conf",
      `[sales_test]\nhost=${url.hostname}\nport=${url.port}\ndbname=${db.name}\n` +
        `user=${decodeURIComponent(url.username)}\npassword=${password}\n`,
    );
    const env = { PGSERVICEFILE: services, PGSYSCONFDIR: files().dir };
    const named = await cli(loadSample("service=sales_test", "--json", "-v"), env);
    expect(named.code, named.stderr).to.equal(0);
    expect(JSON.parse(named.stdout)).to.include({ loaded: 3 });
    const fromEnv = await cli(loadSample("application_name=from-env", "--json"), {
      ...env,
      PGSERVICE: "sales_test",
    });
    expect(JSON.parse(fromEnv.stdout)).to.include({ changed: false });
    for (const run of [named, fromEnv]) expect(run.stdout + run.stderr).to.not.contain(password);
    expectOneLineError(
      await cli(loadSample("service=nope"), env),
      2,
      /^sales-db: definition of service "nope" not found \(looked in .*pg_service\.conf and .*pg_service\.conf\)$/,
    );
  });
});
