import { expect } from "chai";
import { CopyLines } from "../../../loader/copy/line-index";

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The CSV lines of `rows` valid rows, with gaps (rejects, blank lines, quoted newlines) drawn from `next`. */
function lines(rows: number, next: () => number, gapShare: number, maxGap: number): number[] {
  const out: number[] = [];
  let line = 1;
  for (let i = 0; i < rows; i++) {
    line += next() < gapShare ? 2 + Math.floor(next() * maxGap) : 1;
    out.push(line);
  }
  return out;
}

describe("CopyLines: the CSV line of each COPY row, in bounded memory", () => {
  it("gives every row's line, for files with any share of gaps, small and very large gaps included", () => {
    for (const [seed, gapShare, maxGap] of [
      [1, 0, 1],
      [2, 0.01, 3],
      [3, 0.5, 2],
      [4, 1, 1],
      [5, 0.3, 5_000_000_000],
    ] as const) {
      const next = random(seed);
      const expected = lines(5_000, next, gapShare, maxGap);
      const index = new CopyLines();
      expected.forEach(index.add);
      expect(
        expected.map((_, i) => index.lineOf(i + 1)),
        `seed ${seed}`,
      ).to.deep.equal(expected);
    }
  });

  it("a full ring forgets only the oldest rows: never a wrong line, always the recent rows", () => {
    const next = random(7);
    const expected = lines(50_000, next, 0.5, 300);
    const index = new CopyLines(256);
    expected.forEach(index.add);
    const known = expected.map((_, i) => index.lineOf(i + 1));
    const firstKnown = known.findIndex((line) => line !== null);
    expect(firstKnown, "the oldest rows are forgotten").to.be.greaterThan(0);
    expect(firstKnown, "the recent rows are kept").to.be.lessThan(expected.length - 50);
    expect(known).to.deep.equal(expected.map((line, i) => (i < firstKnown ? null : line)));
  });

  it("keeps nothing for a file whose rows follow each other line by line", () => {
    const index = new CopyLines(64);
    for (let line = 2; line < 1_000_002; line++) index.add(line);
    expect(index.lineOf(1)).to.equal(2);
    expect(index.lineOf(1_000_000)).to.equal(1_000_001);
  });

  it("knows no row before the first or after the last", () => {
    const index = new CopyLines();
    [2, 5, 6].forEach(index.add);
    expect([0, 1, 2, 3, 4, 1.5].map((row) => index.lineOf(row))).to.deep.equal([null, 2, 5, 6, null, null]);
  });
});
