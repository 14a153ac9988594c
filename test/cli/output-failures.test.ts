import { expect } from "chai";
import { closeSync, openSync } from "node:fs";
import { cli, expectOneLineError, validateArgs } from "../support/cli";
import { csv, scratchFiles } from "../support/files";

/** A CSV whose report and log are each far larger than a pipe's buffer: 4,000 rejected rows among valid ones. */
const manyRejects = () =>
  csv(
    ...Array.from({ length: 8_000 }, (_, i) => (i % 2 ? `Halal Item ${i},12.50,2` : `Bad Item ${i},12.50,2`)),
  );

/** Where the CLI's output cannot go: the reader left, or the disk is full. */
describe("sales-db output that cannot be written", () => {
  const files = scratchFiles();

  it("a reader that stops reading stdout (`| head -n 1`) ends it quietly, with the command's own status", async () => {
    const run = await cli(validateArgs(await files().write("many.csv", manyRejects())), {}, undefined, {
      stdout: "closed-after-first-chunk",
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^\S+many\.csv: 4000 valid, 4000 rejected/);
    expect(run.stderr).to.not.match(/EPIPE|^\s+at /m);
  });

  it("a reader that stops reading the log (`2>&1 >/dev/null | head`) does not stop the command", async () => {
    const run = await cli(validateArgs(await files().write("many.csv", manyRejects())), {}, undefined, {
      stderr: "closed-after-first-chunk",
    });
    expect(run.code).to.equal(0);
    // The whole report, through to its last line.
    expect(run.stdout).to.match(/4000 valid, 4000 rejected[\s\S]*\nsha256 of valid rows: [0-9a-f]{64}\n$/);
  });

  it("a full disk under stdout fails validate with one line that says so (exit 1)", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const run = await cli(validateArgs(await files().write("many.csv", manyRejects())), {}, undefined, {
        stdout: full,
      });
      expectOneLineError(
        run,
        1,
        /^sales-db: could not write to standard output \(ENOSPC\); check where it goes \(disk space, permissions\)$/,
      );
    } finally {
      closeSync(full);
    }
  });
});
