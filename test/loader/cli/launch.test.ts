import { expect } from "chai";
import { createHash } from "node:crypto";
import { truncateSync, writeFileSync } from "node:fs";
import { HASH_AHEAD_FROM, hashAheadForCommand } from "../../../loader/cli/launch";
import { loadCsv, NO_SERVER, validateArgs } from "../../support/cli";
import { scratch } from "../../support/files";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("the launcher's hash ahead", () => {
  let files: Awaited<ReturnType<typeof scratch>>;
  before(async () => (files = await scratch()));
  after(() => files.cleanup());

  it("starts for a load's regular CSV of HASH_AHEAD_FROM bytes or more, and for nothing else", async () => {
    const big = `${files.dir}/big.csv`;
    writeFileSync(big, "");
    truncateSync(big, HASH_AHEAD_FROM); // sparse: cheap to make, real bytes to hash
    const small = await files.write("small.csv", "product,price,quantity\n");
    const load = (csv: string, ...extra: string[]) => loadCsv(csv, NO_SERVER, ...extra);
    const started = hashAheadForCommand(load(big), {});
    expect(started, "a load of a large file").to.not.equal(null);
    expect((await started!.answer)?.sha256).to.equal(sha256(Buffer.alloc(HASH_AHEAD_FROM)));
    for (const argv of [
      load(small),
      load(files.dir), // a directory
      load(`${files.dir}/missing.csv`),
      load(big, "--bogus"), // the command reports its usage error itself
      validateArgs(big),
    ]) {
      expect(hashAheadForCommand(argv, {}), argv.join(" ")).to.equal(null);
    }
  });
});
