import { expect } from "chai";
import { EXIT } from "../../../loader/cli/main";
import { runMain } from "../../support/in-process";
import { SAMPLE_CSV, SAMPLE_RULES } from "../../support/files";

const run = (argv: string[], failure?: Error) => runMain(argv, {}, failure);

const validate = ["validate", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "-q"];

describe("sales-db's exit statuses, in-process", () => {
  it("0 for a validation with rejected rows, and for --help", async () => {
    expect((await run(validate)).code).to.equal(EXIT.ok);
    expect(await run(["--help"]))
      .to.include({ code: EXIT.ok })
      .and.property("stdout")
      .match(/^Usage:/);
  });

  it("1 for an input that cannot be read", async () => {
    const result = await run(["validate", "--csv", "no/such.csv", "--rules", SAMPLE_RULES]);
    expect(result.code).to.equal(EXIT.failed);
    expect(result.stderr).to.match(/^sales-db: no\/such\.csv: cannot read CSV file \(ENOENT\)\n$/m);
  });

  it("2 for no command at all (the usage goes to stdout) and for an unknown option", async () => {
    expect(await run([]))
      .to.include({ code: EXIT.usage })
      .and.property("stdout")
      .match(/^Usage:/);
    expect((await run(["validate", "--bogus"])).code).to.equal(EXIT.usage);
  });

  it("70 for an unexpected error (a bug): one line, and the stack only at -v", async () => {
    const bug = new TypeError("boom");
    const quiet = await run(validate, bug);
    expect(quiet.code).to.equal(EXIT.internal);
    expect(quiet.stderr).to.equal("sales-db: internal error: boom (a bug; -v shows where)\n");
    const verbose = await run([...validate, "-v"], bug);
    expect(verbose.code).to.equal(EXIT.internal);
    expect(verbose.stderr)
      .to.contain("internal error: boom")
      .and.match(/^at .*loader\/cli/m);
  });
});
