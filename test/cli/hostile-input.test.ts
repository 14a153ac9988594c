import { expect } from "chai";
import { cli, expectOneLineError, loadCsv, NO_SERVER, validateArgs, type Run } from "../support/cli";
import { csv, SAMPLE_CSV, SAMPLE_RULES, scratchFiles } from "../support/files";

describe("sales-db on hostile input", () => {
  const files = scratchFiles();
  /** Exit 1, and the one error line names `file`. */
  const expectFileError = (run: Run, file: string, pattern: RegExp) =>
    expect(expectOneLineError(run, 1, pattern)).to.contain(file);
  const validate = (csv: string, rules = SAMPLE_RULES) => cli(validateArgs(csv, rules));

  it("a directory or a missing path as --csv or --rules is one line naming it", async () => {
    const { dir } = files();
    expectFileError(await validate(dir), dir, /cannot read CSV file \(it is a directory\)$/);
    expectFileError(await validate("no/such.csv"), "no/such.csv", /cannot read CSV file \(ENOENT\)$/);
    expectFileError(await validate(SAMPLE_CSV, dir), dir, /cannot read rules file \(it is a directory\)$/);
    expectFileError(await cli(loadCsv(dir, NO_SERVER)), dir, /it is a directory/);
  });

  it("a YAML alias bomb, a huge or endless rules file and deep nesting are one line each", async () => {
    const bomb = await files().write(
      "bomb.yaml",
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n" +
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    );
    expectFileError(await validate(SAMPLE_CSV, bomb), bomb, /invalid YAML: more than \d+ aliases/);
    const huge = await files().write("huge.yaml", `min_price: 1\n# ${"x".repeat(200_000)}\n`);
    expectFileError(await validate(SAMPLE_CSV, huge), huge, /larger than the 64 KiB limit/);
    expectFileError(await validate(SAMPLE_CSV, "/dev/zero"), "/dev/zero", /larger than the 64 KiB limit/);
    const deep = await files().write("deep.yaml", `min_price: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`);
    expectFileError(await validate(SAMPLE_CSV, deep), deep, /deep\.yaml/);
  });

  it("control characters from the file never reach the terminal, and are shown escaped", async () => {
    const evil = await files().write(
      "evil.csv",
      "product,price,quantity,\u001b[2J\u009b31m\u202eevil\nHalal A,1,1,x\n",
    );
    const run = await validate(evil);
    expect(run.code).to.equal(1);
    for (const c of ["\u001b", "\u009b", "\u202e"]) expect(run.stderr).to.not.contain(c);
    expect(run.stderr).to.contain("\\u001b[2J");
    const rejected = await files().write("rejected.csv", csv("\u001b]0;pwned\u0007,1,1"));
    const report = await validate(rejected);
    for (const c of ["\u0007", "\u001b"]) expect(report.stdout + report.stderr).to.not.contain(c);
  });

  it("a record past the 1 MiB limit says so, and blames a quote only when one is open", async () => {
    const long = await files().write(
      "long.csv",
      `product,price,quantity\nHalal ${"x".repeat(10 << 20)},1,1\n`,
    );
    expectFileError(await validate(long), long, /long\.csv:2: record longer than the 1 MiB limit$/);
    const open = await files().write("open.csv", `product,price,quantity\n"Halal ${"x\n".repeat(1 << 20)}`);
    expectFileError(
      await validate(open),
      open,
      /open\.csv:2: record longer than the 1 MiB limit; is a quote left open\?$/,
    );
  });

  it("bounds the rejects a report holds, whatever their size and --max-rejects", async function () {
    this.timeout(120_000);
    const wide = "x".repeat(5_000);
    const lines = ["product,price,quantity"];
    for (let i = 0; i < 4_000; i++) lines.push(`${wide},${wide},${wide}`);
    const file = await files().write("wide.csv", `${lines.join("\n")}\nHalal A,10,1\n`);
    const run = await cli([...validateArgs(file), "--json", "-q", "--max-rejects", "100000"]);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout);
    expect(report).to.include({ valid: 1, rejected: 4_000 });
    expect(report.rejects.length + report.rejectsOmitted).to.equal(4_000);
    expect(run.stdout.length).to.be.lessThan(8_000_000);
  });
});
