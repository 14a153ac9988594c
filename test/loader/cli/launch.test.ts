import { expect } from "chai";
import { truncateSync, writeFileSync } from "node:fs";
import { HASH_AHEAD_FROM, hashAheadForCommand } from "../../../loader/cli/launch";
import { loadCsv, NO_SERVER, validateArgs } from "../../support/cli";
import { scratchFiles, sha256 } from "../../support/files";

describe("the launcher's hash ahead", () => {
  const scratchDir = scratchFiles();

  it("starts for a load's regular CSV of HASH_AHEAD_FROM bytes or more, and for nothing else", async () => {
    const big = `${scratchDir().dir}/big.csv`;
    writeFileSync(big, "");
    truncateSync(big, HASH_AHEAD_FROM); // sparse: cheap to make, real bytes to hash
    const small = await scratchDir().write("small.csv", "product,price,quantity\n");
    const load = (csv: string, ...extra: string[]) => loadCsv(csv, NO_SERVER, ...extra);
    const started = hashAheadForCommand(load(big), {});
    expect(started, "a load of a large file").to.not.equal(null);
    expect((await started!.answer)?.sha256).to.equal(sha256(Buffer.alloc(HASH_AHEAD_FROM)));
    for (const argv of [
      load(small),
      load(scratchDir().dir), // a directory
      load(`${scratchDir().dir}/missing.csv`),
      load(big, "--bogus"), // the command reports its usage error itself
      validateArgs(big),
    ]) {
      expect(hashAheadForCommand(argv, {}), argv.join(" ")).to.equal(null);
    }
  });
});
