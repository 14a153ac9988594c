import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { HASH_AHEAD_FROM, hashAhead, hashAheadForCommand } from "../../loader/hash-ahead";
import { openInput } from "../../loader/input";
import { SAMPLE_RULES, scratch } from "../support/files";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("hash ahead (a worker thread)", () => {
  let files: Awaited<ReturnType<typeof scratch>>;
  before(async () => (files = await scratch()));
  after(() => files.cleanup());

  it("hashes the file and says which file it hashed: inode, size, modification time", async () => {
    const bytes = randomBytes((9 << 20) + 7); // across several of its 4 MiB reads
    const file = await files.write("a.bin", bytes);
    const found = await hashAhead(file).answer;
    const stats = statSync(file);
    expect(found).to.deep.equal({
      sha256: sha256(bytes),
      dev: stats.dev,
      ino: stats.ino,
      size: stats.size,
      mtimeMs: stats.mtimeMs,
    });
  });

  it("gives up, with null, when stopped, and when the file cannot be read", async () => {
    const ahead = hashAhead(await files.write("b.bin", randomBytes(9 << 20)));
    ahead.stop(); // before the worker's first read ends
    expect(await ahead.answer).to.equal(null);
    expect(await hashAhead(`${files.dir}/missing.csv`).answer).to.equal(null);
  });

  it("starts for a load's regular CSV of HASH_AHEAD_FROM bytes or more, and for nothing else", async () => {
    const big = `${files.dir}/big.csv`;
    writeFileSync(big, "");
    truncateSync(big, HASH_AHEAD_FROM); // sparse: cheap to make, real bytes to hash
    const small = await files.write("small.csv", "product,price,quantity\n");
    const load = (csv: string, ...extra: string[]) => [
      "load",
      "--csv",
      csv,
      "--rules",
      SAMPLE_RULES,
      "--database-url",
      "postgres://u@127.0.0.1:1/db",
      ...extra,
    ];
    const started = hashAheadForCommand(load(big), {});
    expect(started, "a load of a large file").to.not.equal(null);
    expect((await started!.answer)?.sha256).to.equal(sha256(Buffer.alloc(HASH_AHEAD_FROM)));
    for (const argv of [
      load(small),
      load(files.dir), // a directory
      load(`${files.dir}/missing.csv`),
      load(big, "--bogus"), // the command reports its usage error itself
      ["validate", "--csv", big, "--rules", SAMPLE_RULES],
    ]) {
      expect(hashAheadForCommand(argv, {}), argv.join(" ")).to.equal(null);
    }
  });

  it("is used by the input only when it is of the very file opened", async () => {
    const first = randomBytes(1 << 20);
    const file = await files.write("c.bin", first);
    const ahead = hashAhead(file);
    await ahead.answer;
    // Same path and size, other bytes, a later modification time: another file for the input.
    writeFileSync(file, randomBytes(1 << 20));
    const input = await openInput(file, "CSV file", ahead);
    try {
      expect(await input.sha256()).to.equal(sha256(readFileSync(file)));
    } finally {
      await input.close();
    }
    // Of the very file: the answer is the worker's (checked against the bytes).
    const same = await openInput(file, "CSV file", hashAhead(file));
    try {
      expect(await same.sha256()).to.equal(sha256(readFileSync(file)));
    } finally {
      await same.close();
    }
  });
});
