import { expect } from "chai";
import { spawn } from "node:child_process";
import { freePort } from "../../loader/embedded";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { SAMPLE_CSV, SAMPLE_RULES, scratch, validRows } from "../support/files";
import { waitFor } from "../support/wait";

const BIN = "bin/sales-db.js";
/** `sales-db load` of the sample into `url`, plus extra options. */
const loadSample = (url: string, ...extra: string[]) => [
  "load",
  "--csv",
  SAMPLE_CSV,
  "--rules",
  SAMPLE_RULES,
  "--database-url",
  url,
  ...extra,
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would; `onSpawn` may act on the live process. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, onSpawn?: (pid: number) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (onSpawn && child.pid) onSpawn(child.pid);
  });
}

/** A user error is one line on stderr, with no stack trace. */
function expectOneLineError(run: Run, pattern: RegExp) {
  const lines = run.stderr.trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  expect(last).to.match(pattern);
  expect(run.stderr).to.not.match(/^\s+at /m);
}

describe("sales-db CLI", () => {
  let files: Awaited<ReturnType<typeof scratch>>;
  let db: TestDatabase;
  before(async () => (files = await scratch()));
  after(() => files.cleanup());
  beforeEach(async () => (db = await createTestDatabase()));
  afterEach(() => db.drop());

  it("validate --json prints one JSON report and exits 0 with rejected rows", async () => {
    const run = await cli(["validate", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "--json"]);
    expect(run.code).to.equal(0);
    const report = JSON.parse(run.stdout);
    expect(report).to.include({ valid: 3, rejected: 3 });
    expect(report.byRule).to.include({ required_fields: 1, product_prefix: 2 });
    expect(report.rejects.map((r: { line: number; rules: string[] }) => [r.line, r.rules])).to.deep.equal([
      [5, ["required_fields"]],
      [6, ["product_prefix", "price_numeric"]],
      [7, ["product_prefix", "min_price", "max_quantity"]],
    ]);
    expect(report.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(run.stderr).to.match(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - WARNING - Invalid sale: line 5 \[required_fields\]/m,
    );
  });

  it("load uses DATABASE_URL and reports loaded and table", async () => {
    const run = await cli(["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "--json"], {
      DATABASE_URL: db.url,
    });
    expect(run.code).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ loaded: 3, table: "sales", valid: 3, rejected: 3 });
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
  });

  it("--quiet leaves only errors on stderr", async () => {
    const run = await cli(["validate", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "--quiet"]);
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal("");
    expect(run.stdout).to.contain("3 valid, 3 rejected");
  });

  it("a bad rules file fails with one line naming the file and key", async () => {
    const rules = await files.write(
      "rules.yaml",
      "min_price: cheap\nmax_quantity: 1\nrequired_fields: []\nproduct_prefix: x\nmax_decimals: 2\n",
    );
    const run = await cli(["validate", "--csv", SAMPLE_CSV, "--rules", rules]);
    expect(run.code).to.equal(1);
    expectOneLineError(
      run,
      /^sales-db: .*rules\.yaml: key "min_price" must be a finite number, got "cheap"$/,
    );
  });

  it("a structural CSV error names file and line, and writes nothing", async () => {
    await cli(loadSample(db.url));
    const bad = await files.write("bad.csv", "product,price,quantity,colour\nHalal A,10,1,red\n");
    const run = await cli(["load", "--csv", bad, "--rules", SAMPLE_RULES, "--database-url", db.url]);
    expect(run.code).to.equal(1);
    expectOneLineError(run, /^sales-db: .*bad\.csv:1: unknown column "colour"/);
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
  });

  it("bad usage exits 2", async () => {
    const run = await cli(["load", "--csv", SAMPLE_CSV]);
    expect(run.code).to.equal(2);
    expectOneLineError(run, /^sales-db: missing --rules \(see sales-db --help\)$/);
    expect((await cli(["frobnicate"])).code).to.equal(2);
  });

  it("an unreachable server fails after the wait timeout, saying where it tried", async () => {
    const port = await freePort();
    const url = `postgres://u:secret-pw@127.0.0.1:${port}/db`;
    const run = await cli(loadSample(url, "--wait-timeout", "1"));
    expect(run.code).to.equal(1);
    expectOneLineError(
      run,
      new RegExp(
        `could not connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/db within \\d\\.\\ds .*ECONNREFUSED`,
      ),
    );
    expect(run.stderr).to.not.contain("secret-pw");
  });

  it("a malformed database URL is a usage error that does not echo the password", async () => {
    const run = await cli(loadSample("postgres://u:pa#ss@[::1/db"));
    expect(run.code).to.equal(2);
    expectOneLineError(
      run,
      /^sales-db: invalid database URL: it is not a valid URL; expected postgresql:\/\/user:password@host:port\/database/,
    );
    expect(run.stderr).to.not.contain("pa#ss");
  });

  it("--max-rejected-share fails the load before anything is written", async () => {
    const run = await cli(loadSample(db.url, "--max-rejected-share", "0.25"));
    expect(run.code).to.equal(1);
    expectOneLineError(
      run,
      /3 of 6 rows rejected \(50\.0%\), more than the allowed 25\.0%; nothing written$/,
    );
    expect(await db.query("SELECT to_regclass('sales') IS NULL AS absent")).to.deep.equal([{ absent: true }]);
  });

  it("SIGKILL in the middle of a large load leaves the previous rows", async () => {
    await cli(loadSample(db.url));
    const big = await files.write("big.csv", validRows(500_000));
    const run = await cli(
      ["load", "--csv", big, "--rules", SAMPLE_RULES, "--database-url", db.url],
      {},
      (pid) => {
        waitFor(
          async () =>
            (await db.query("SELECT 1 FROM pg_stat_progress_copy WHERE tuples_processed > 0")).length > 0,
        )
          .then(() => process.kill(pid, "SIGKILL"))
          .catch(() => undefined);
      },
    );
    expect(run.signal).to.equal("SIGKILL");
    // The server notices the dropped connection and rolls back; wait for the backend to go away.
    await waitFor(
      async () =>
        (await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'sales-db'")).length === 0,
    );
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
  });
});
