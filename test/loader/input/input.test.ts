import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { openInput } from "../../../loader/input/input";
import { scratch } from "../../support/files";

describe("input", () => {
  let files: Awaited<ReturnType<typeof scratch>>;
  before(async () => (files = await scratch()));
  after(() => files.cleanup());

  for (const size of [0, 1, 4 << 20, (9 << 20) + 123]) {
    it(`sha256 of a ${size}-byte file equals the sha256 of its bytes (reads overlap hashing)`, async () => {
      const bytes = randomBytes(size);
      const input = await openInput(await files.write(`f${size}.bin`, bytes));
      try {
        expect(await input.sha256()).to.equal(createHash("sha256").update(bytes).digest("hex"));
        // A second call reads the file again from its start.
        expect(await input.sha256()).to.equal(createHash("sha256").update(bytes).digest("hex"));
      } finally {
        await input.close();
      }
    });
  }
});
