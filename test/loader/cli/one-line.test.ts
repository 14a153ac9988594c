import { expect } from "chai";
import { seededRandom } from "../../../bench/random";
import { oneLine, oneLinePerEntry } from "../../../loader/errors";

/** The plain definition oneLinePerEntry must keep while skipping work: each entry trimmed and made one line. */
function entryByEntry(text: string): string {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => `${oneLine(line.trim())}\n`)
    .join("");
}

describe("oneLinePerEntry", () => {
  it("passes a clean chunk of entries through unchanged", () => {
    const chunk =
      '2026-12-03 10:00:00,123 - WARNING - Invalid sale: line 5 [required_fields]: product=""\n'.repeat(3);
    expect(oneLinePerEntry(chunk)).to.equal(chunk);
  });

  it("escapes what a terminal would act on and drops blank entries", () => {
    expect(oneLinePerEntry("a\u001b[31m\n\n  \nb\u202e c \r\n")).to.equal("a\\u001b[31m\nb\\u202e c\n");
  });

  it("agrees with entry-by-entry formatting on 20,000 random chunks (seeded)", () => {
    const rnd = seededRandom(20261203);
    const clean = ["a", "é", "x y", "a\nb", "-", "茶"];
    const troubles = [" ", "\n", "\r", "\t", "\u001b", "\u00a0", "\u2028", "\u202e", "\u0085"];
    let changed = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = "";
      const length = Math.floor(rnd() * 12);
      for (let i = 0; i < length; i++) {
        const tokens = rnd() < 0.9 ? clean : troubles;
        text += tokens[Math.floor(rnd() * tokens.length)];
      }
      if (rnd() < 0.7) text += "\n";
      const expected = entryByEntry(text);
      if (expected !== text) changed++;
      expect(oneLinePerEntry(text), JSON.stringify(text)).to.equal(expected);
    }
    // Both branches must be exercised: chunks that need work and chunks that pass through.
    expect(changed).to.be.within(2000, 18_000);
  });
});
