import { expect } from "chai";
import { spawn } from "node:child_process";
import { freePort } from "../../loader/embedded";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { SAMPLE_CSV, SAMPLE_RULES, scratch, validRows } from "../support/files";
import { waitFor } from "../support/wait";

const BIN = "bin/sales-db.js";
/** `sales-db load` of `csv` with the sample rules into `url`, plus extra options. */
const loadCsv = (csv: string, url: string, ...extra: string[]) => [
  "load",
  "--csv",
  csv,
  "--rules",
  SAMPLE_RULES,
  "--database-url",
  url,
  ...extra,
];
/** `sales-db load` of the sample into `url`, plus extra options. */
const loadSample = (url: string, ...extra: string[]) => loadCsv(SAMPLE_CSV, url, ...extra);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would; `onSpawn` may act on the live process. */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onSpawn?: (pid: number) => void,
  extra: string[] = [],
): Promise<Run> {
  return node([BIN, ...args, ...extra], env, onSpawn);
}

/** Runs `node` with `args` (a script and its arguments), as a user would. */
function node(args: string[], env: NodeJS.ProcessEnv = {}, onSpawn?: (pid: number) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
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

/** A log entry: `2025-04-25 10:00:00,123 - INFO - …`. */
const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - [A-Z]+ - /;

/** sales-db sessions in the test database, with their locks joined (`condition` may filter on l.*). */
async function sessions(db: TestDatabase, condition: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(DISTINCT a.pid)::int AS n FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid
     WHERE a.application_name = 'sales-db' AND a.datname = current_database() ${condition}`,
  );
  return row?.n ?? 0;
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
    const run = await cli(loadCsv(bad, db.url));
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
    const run = await cli(loadCsv(big, db.url), {}, (pid) => {
      waitFor(
        async () =>
          (await db.query("SELECT 1 FROM pg_stat_progress_copy WHERE tuples_processed > 0")).length > 0,
      )
        .then(() => process.kill(pid, "SIGKILL"))
        .catch(() => undefined);
    });
    expect(run.signal).to.equal("SIGKILL");
    // The server notices the dropped connection and rolls back; wait for the backend to go away.
    await waitFor(
      async () =>
        (await db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'sales-db'")).length === 0,
    );
    expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
  });

  describe("hostile input", () => {
    /** The error is the only line that is not a log entry, and it names `file`. */
    function expectFileError(run: Run, file: string, pattern: RegExp) {
      expect(run.code, run.stderr).to.equal(1);
      const lines = run.stderr.split("\n").filter((line) => line !== "" && !LOG_LINE.test(line));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.contain(file);
      expect(lines[0]).to.match(pattern);
    }
    const validate = (csv: string, rules = SAMPLE_RULES) => cli(["validate", "--csv", csv, "--rules", rules]);

    it("a directory or a missing path as --csv or --rules is one line naming it", async () => {
      expectFileError(await validate(files.dir), files.dir, /cannot read CSV file \(it is a directory\)$/);
      expectFileError(await validate("no/such.csv"), "no/such.csv", /cannot read CSV file \(ENOENT\)$/);
      expectFileError(
        await validate(SAMPLE_CSV, files.dir),
        files.dir,
        /cannot read rules file \(it is a directory\)$/,
      );
      const load = await cli(loadCsv(files.dir, db.url));
      expectFileError(load, files.dir, /it is a directory/);
    });

    it("a YAML alias bomb, a huge or endless rules file and deep nesting are one line each", async () => {
      const bomb = await files.write(
        "bomb.yaml",
        'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
          "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
          "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
      );
      expectFileError(await validate(SAMPLE_CSV, bomb), bomb, /invalid YAML: more than \d+ aliases/);
      const huge = await files.write("huge.yaml", `min_price: 1\n# ${"x".repeat(200_000)}\n`);
      expectFileError(await validate(SAMPLE_CSV, huge), huge, /larger than the 64 KiB limit/);
      expectFileError(await validate(SAMPLE_CSV, "/dev/zero"), "/dev/zero", /larger than the 64 KiB limit/);
      const deep = await files.write("deep.yaml", `min_price: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`);
      expectFileError(await validate(SAMPLE_CSV, deep), deep, /deep\.yaml/);
    });

    it("control characters from the file never reach the terminal", async () => {
      const evil = await files.write(
        "evil.csv",
        "product,price,quantity,\u001b[2J\u009b31m\u202eevil\nHalal A,1,1,x\n",
      );
      const run = await validate(evil);
      expect(run.code).to.equal(1);
      for (const c of ["\u001b", "\u009b", "\u202e"]) expect(run.stderr).to.not.contain(c);
      expect(run.stderr).to.contain("\\u001b[2J");
      const rejected = await files.write(
        "rejected.csv",
        "product,price,quantity\n\u001b]0;pwned\u0007,1,1\n",
      );
      const report = await validate(rejected);
      for (const c of ["\u0007", "\u001b"]) expect(report.stdout + report.stderr).to.not.contain(c);
    });

    it("a record past the 1 MiB limit says so, and blames a quote only when one is open", async () => {
      const long = await files.write(
        "long.csv",
        `product,price,quantity\nHalal ${"x".repeat(10 << 20)},1,1\n`,
      );
      expectFileError(await validate(long), long, /long\.csv:2: record longer than the 1 MiB limit$/);
      const open = await files.write("open.csv", `product,price,quantity\n"Halal ${"x\n".repeat(1 << 20)}`);
      expectFileError(
        await validate(open),
        open,
        /open\.csv:2: record longer than the 1 MiB limit; is a quote left open\?$/,
      );
    });

    it("a multi-line parser message is one line", async () => {
      const run = await cli(["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "--table", "-x"]);
      expect(run.code).to.equal(2);
      expect(run.stderr.trim().split("\n")).to.have.length(1);
      expect(run.stderr).to.match(/^sales-db: Option '--table' argument is ambiguous/);
    });

    it("limits PostgreSQL and timers cannot honour are usage errors", async () => {
      for (const [option, value] of [
        ["--lock-timeout", "9999999999"],
        ["--lock-timeout", "0.0001"],
        ["--wait-timeout", "1e3"],
        ["--wait-timeout", "99999999999"],
        ["--table", "sales_db_seeds"],
        ["--table", "pg_temp.x"],
      ] as const) {
        const run = await cli(loadSample(db.url, option, value));
        expect(run.code, `${option} ${value}`).to.equal(2);
        expectOneLineError(run, /^sales-db: .*\(see sales-db --help\)$|reserved|system schema/);
      }
    });

    it("bounds the rejects a report holds, whatever their size and --max-rejects", async function () {
      this.timeout(120_000);
      const wide = "x".repeat(5_000);
      const lines = ["product,price,quantity"];
      for (let i = 0; i < 4_000; i++) lines.push(`${wide},${wide},${wide}`);
      const file = await files.write("wide.csv", `${lines.join("\n")}\nHalal A,10,1\n`);
      const run = await cli(loadCsv(file, db.url, "--json", "-q"), {}, undefined, [
        "--max-rejects",
        "100000",
      ]);
      expect(run.code, run.stderr).to.equal(0);
      const report = JSON.parse(run.stdout);
      expect(report).to.include({ valid: 1, rejected: 4_000, loaded: 1 });
      expect(report.rejects.length + report.rejectsOmitted).to.equal(4_000);
      expect(run.stdout.length).to.be.lessThan(8_000_000);
    });
  });

  describe("the database side", () => {
    it("refuses a table it did not load, saying how to proceed, and replaces it only with the flag", async () => {
      await db.query("CREATE TABLE sales (id int); INSERT INTO sales SELECT generate_series(1, 1000)");
      const refused = await cli(loadSample(db.url));
      expect(refused.code).to.equal(1);
      expectOneLineError(
        refused,
        /^sales-db: sales exists but was not loaded by sales-db .*nothing written; pass --replace-foreign-table to replace it anyway, or load into another --table$/,
      );
      expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 1000 }]);
      expect((await cli(loadSample(db.url, "--replace-foreign-table"))).code).to.equal(0);
      expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
    });

    it("refuses to empty a table unless --allow-empty", async () => {
      await cli(loadSample(db.url));
      const header = await files.write("header.csv", "product,price,quantity\n");
      const args = loadCsv(header, db.url);
      const refused = await cli(args);
      expect(refused.code).to.equal(1);
      expectOneLineError(refused, /would empty sales, which holds rows; nothing written; pass --allow-empty/);
      expect((await cli([...args, "--allow-empty"])).code).to.equal(0);
      expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 0 }]);
    });

    it("an empty DATABASE_URL is a missing one, not a host", async () => {
      const run = await cli(["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES], { DATABASE_URL: " " });
      expect(run.code).to.equal(2);
      expectOneLineError(run, /^sales-db: missing --database-url \(or a non-empty DATABASE_URL\)/);
    });

    it("accepts libpq's key=value form and a URL with stray spaces", async () => {
      const url = new URL(db.url);
      const password = decodeURIComponent(url.password).replace(/\\/g, "\\\\").replace(/'/g, "\\'");
      const keywords = `host=${url.hostname} port=${url.port} dbname=${db.name} user=${url.username} password='${password}'`;
      expect((await cli(loadSample(keywords))).code).to.equal(0);
      expect((await cli(loadSample(`  ${db.url}\n`))).code).to.equal(0);
      expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
    });

    it("never prints the password, whatever form the connection string takes", async function () {
      this.timeout(120_000);
      const secret = "Sw0rdf1sh-9x";
      const port = await freePort();
      const forms = [
        `postgress://u:${secret}@127.0.0.1:${port}/db`,
        ` postgres://u:${secret}@127.0.0.1:${port}/db`,
        `postgres://u:${secret}@[::1/db`,
        `postgres://u:${encodeURIComponent(secret)}@127.0.0.1:${port}/db?sslmode=require`,
        `postgresql://u:${secret}@127.0.0.1:${port}/db?bogus=1`,
        `host=127.0.0.1 port=${port} user=u password=${secret}`,
        `host=127.0.0.1 port=${port} password='${secret}' dbname=x`,
        `host=127.0.0.1 password = '${secret}`,
        `${secret} host=127.0.0.1`,
        `host=127.0.0.1 port=${port} ${secret}=1`,
        secret,
        `user=u password=${secret} bogus=${secret}`,
      ];
      for (const form of forms) {
        for (const via of ["flag", "env"] as const) {
          const args = ["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "-v", "--wait-timeout", "0.5"];
          const run =
            via === "flag"
              ? await cli([...args, "--database-url", form])
              : await cli(args, { DATABASE_URL: form });
          expect(run.code, `${via}: ${form}`).to.be.oneOf([1, 2]);
          expect(run.stdout + run.stderr, `${via}: ${form}`).to.not.contain(secret);
          expect(run.stderr, `${via}: ${form}`).to.not.match(/^\s+at /m);
        }
      }
    });

    it("a killed CLI waiting for the table leaves no session and no lock behind", async () => {
      await cli(loadSample(db.url));
      const holder = await db.connect("report-job");
      try {
        await holder.query("BEGIN; SELECT count(*) FROM sales");
        const changed = await files.write("changed.csv", "product,price,quantity\nHalal Tea,1,1\n");
        const run = await cli(loadCsv(changed, db.url, "--lock-timeout", "60"), {}, (pid) => {
          waitFor(async () => (await sessions(db, "AND l.locktype = 'advisory' AND l.granted")) > 0)
            .then(() => process.kill(pid, "SIGKILL"))
            .catch(() => undefined);
        });
        expect(run.signal).to.equal("SIGKILL");
        await waitFor(async () => (await sessions(db, "")) === 0, 5_000);
      } finally {
        await holder.end();
      }
      expect(await db.query("SELECT count(*)::int AS n FROM sales")).to.deep.equal([{ n: 3 }]);
    });

    it("a FIFO with no writer holds no connection: other loads go ahead", async () => {
      await cli(loadSample(db.url));
      const fifo = await files.fifo("waiting.csv");
      let blockedPid = 0;
      const blocked = cli(loadCsv(fifo, db.url), {}, (pid) => {
        blockedPid = pid;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await sessions(db, "")).to.equal(0);
      const other = await files.write("other.csv", "product,price,quantity\nHalal Other,10,1\n");
      const run = await cli(loadCsv(other, db.url, "--lock-timeout", "5"));
      expect(run.code, run.stderr).to.equal(0);
      process.kill(blockedPid, "SIGKILL");
      expect((await blocked).signal).to.equal("SIGKILL");
    });

    it("a lock timeout says who holds the lock", async () => {
      await cli(loadSample(db.url));
      const holder = await db.connect("report-job");
      try {
        await holder.query("BEGIN; SELECT count(*) FROM sales");
        const changed = await files.write("held.csv", "product,price,quantity\nHalal Tea,1,1\n");
        const run = await cli(loadCsv(changed, db.url, "--lock-timeout", "0.5"));
        expect(run.code).to.equal(1);
        expectOneLineError(
          run,
          /held by pid \d+ \(application "report-job".*SELECT pg_terminate_backend\(\d+\)/,
        );
      } finally {
        await holder.end();
      }
    });
  });

  describe("demo", () => {
    it("exits non-zero with one line when it fails", async () => {
      const run = await node([BIN, "demo"], { TMPDIR: "/proc" });
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.not.match(/^\s+at /m);
      const lines = run.stderr.split("\n").filter((line) => line !== "" && !LOG_LINE.test(line));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^sales-db: embedded PostgreSQL failed to start .*\/proc\/sales-db-pg-/);
    });
  });
});
