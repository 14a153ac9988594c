import { expect } from "chai";
import { cli, validateArgs } from "../support/cli";
import { SAMPLE_CSV } from "../support/files";

describe("sales-db validate", () => {
  it("--json prints one JSON report on stdout, and each reject as a WARNING log entry on stderr", async () => {
    const run = await cli([...validateArgs(SAMPLE_CSV), "--json"]);
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

  it("--quiet leaves only errors on stderr", async () => {
    const run = await cli([...validateArgs(SAMPLE_CSV), "--quiet"]);
    expect(run.code).to.equal(0);
    expect(run.stderr).to.equal("");
    expect(run.stdout).to.contain("3 valid, 3 rejected");
  });
});
