import { expect } from "chai";
import { cli, expectOneLineError, loadSample, NO_SERVER, validateArgs } from "../support/cli";
import { SAMPLE_CSV, scratchFiles } from "../support/files";

// The README's exit status table, row by row, as the built command exits (70, a bug, is tested in-process:
// test/loader/cli.test.ts).
describe("sales-db exit statuses", () => {
  const files = scratchFiles();

  it("0: validate succeeds with rejected rows", async () => {
    const run = await cli(validateArgs(SAMPLE_CSV));
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.contain("3 valid, 3 rejected");
  });

  it("1: a bad rules file, with one line naming the file and the key", async () => {
    const rules = await files().write(
      "rules.yaml",
      "min_price: cheap\nmax_quantity: 1\nrequired_fields: []\nproduct_prefix: x\nmax_decimals: 2\n",
    );
    expectOneLineError(
      await cli(validateArgs(SAMPLE_CSV, rules)),
      1,
      /^sales-db: .*rules\.yaml: key "min_price" must be a finite number, got "cheap"$/,
    );
  });

  it("1: a failing demo, with one line", async () => {
    expectOneLineError(
      await cli(["demo"], { TMPDIR: "/proc" }),
      1,
      /^sales-db: embedded PostgreSQL failed to start .*\/proc\/sales-db-pg-/,
    );
  });

  it("2: a missing option or an unknown command", async () => {
    expectOneLineError(
      await cli(["load", "--csv", SAMPLE_CSV]),
      2,
      /^sales-db: missing --rules \(see sales-db --help\)$/,
    );
    expectOneLineError(await cli(["frobnicate"]), 2, /^sales-db: unknown command "frobnicate"/);
  });

  it("2: a parser's multi-line message, as one line", async () => {
    expectOneLineError(
      await cli([...validateArgs(SAMPLE_CSV), "--table", "-x"]),
      2,
      /^sales-db: Option '--table' argument is ambiguous/,
    );
  });

  it("2: limits PostgreSQL and timers cannot honour, and reserved tables, before any connection", async () => {
    for (const [option, value] of [
      ["--lock-timeout", "9999999999"],
      ["--lock-timeout", "0.0001"],
      ["--wait-timeout", "1e3"],
      ["--wait-timeout", "99999999999"],
      ["--table", "sales_db_seeds"],
      ["--table", "pg_temp.x"],
      ["--copy-format", "csv"],
    ] as const) {
      const run = await cli(loadSample(NO_SERVER, option, value));
      expectOneLineError(run, 2, /^sales-db: .*\(see sales-db --help\)$|reserved|system schema/);
    }
  });
});
