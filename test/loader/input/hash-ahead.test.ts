import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { hashAhead } from "../../../loader/input/hash-ahead";
import { openInput } from "../../../loader/input/input";
import { scratchFiles, sha256 } from "../../support/files";
import { waitFor } from "../../support/wait";

describe("hash ahead (a child process)", () => {
  const scratchDir = scratchFiles();

  it("hashes the file and says which file it hashed: inode, size, modification time", async () => {
    const bytes = randomBytes((9 << 20) + 7); // across several of its 4 MiB reads
    const file = await scratchDir().write("a.bin", bytes);
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
    const ahead = hashAhead(await scratchDir().write("b.bin", randomBytes(9 << 20)));
    ahead.stop(); // long before the child could have hashed 9 MiB
    expect(await ahead.answer).to.equal(null);
    expect(await hashAhead(`${scratchDir().dir}/missing.csv`).answer).to.equal(null);
  });

  it("ends its child when the command that started it exits first", async () => {
    const big = `${scratchDir().dir}/huge.csv`;
    writeFileSync(big, "");
    truncateSync(big, 8 * 2 ** 30); // sparse: seconds of hashing
    // A command that starts the hash and exits at once, as a failing `load` would.
    execFileSync(process.execPath, [
      "-e",
      `require(${JSON.stringify(resolve("dist/loader/input/hash-ahead.js"))}).hashAhead(${JSON.stringify(big)})`,
    ]);
    const hashing = () =>
      readdirSync("/proc")
        .filter((pid) => /^\d+$/.test(pid))
        .some((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(big);
          } catch {
            return false; // gone meanwhile
          }
        });
    await waitFor(async () => !hashing(), 5_000); // else: the child still hashing after its parent exited
  });

  it("is used by the input only when it is of the very file opened", async () => {
    const first = randomBytes(1 << 20);
    const file = await scratchDir().write("c.bin", first);
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
    // Of the very file: the answer is the child's (checked against the bytes).
    const same = await openInput(file, "CSV file", hashAhead(file));
    try {
      expect(await same.sha256()).to.equal(sha256(readFileSync(file)));
    } finally {
      await same.close();
    }
  });

  it("vouches for the bytes a stream read only while the file is unchanged since it was opened", async () => {
    const bytes = randomBytes(1 << 20);
    const file = await scratchDir().write("d.bin", bytes);
    const streamedThrough = async (edit?: () => void) => {
      const input = await openInput(file, "CSV file", hashAhead(file));
      try {
        expect(input.hashedAhead).to.equal(true);
        for await (const chunk of input.stream()) void chunk;
        edit?.();
        return await input.sha256OfStreamed();
      } finally {
        await input.close();
      }
    };
    expect(await streamedThrough()).to.equal(sha256(bytes));
    // Appended to while (or after) it was read: the bytes read are not the file's any more.
    expect(await streamedThrough(() => writeFileSync(file, "more", { flag: "a" }))).to.equal(null);
  });
});
