import { expect } from "chai";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { seededRandom } from "../../../bench/random";
import { parseRules, type RuleSet } from "../../../loader/rules/rules-file";
import { SalesEncoder } from "../../../loader/copy/sales-stream";
import { SaleValidator } from "../../../loader/rules/validate";
import type { CopyFormat } from "../../../loader/rules/report";
import { chooseCopyFormat } from "../../../loader/copy/format";

/**
 * Differential test of the encoder's byte path: lines the fast path takes (`SaleValidator.acceptsAsIs`, copied as
 * bytes) must come out exactly as the string path (`check`, `encodeCopyRow`) would write them, and every line it
 * declines must still be judged by the string path. The same random files, cut into random chunks, run through an
 * encoder with the byte path and one without, in COPY text or binary; COPY bytes and reports must be identical.
 * Seeded: ENCODER_DIFF_SEED=<n> reruns a failing seed.
 */
const SEED = Number(process.env.ENCODER_DIFF_SEED ?? 20261203);

type Random = () => number;
const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;

// Near the edges of what the fast path accepts: spaces and non-ASCII at a field's ends, signs, leading zeros, digit
// counts around 10 and 15, decimals around max_decimals, empty fields, an extra comma, a tab or backslash.
const PRODUCTS = [
  "Halal Tea",
  "Halal Tea",
  "Halal Dates 1kg",
  "Halal",
  "HalalX",
  "halal Tea",
  " Halal Tea",
  "Halal Tea ",
  "Halal Tea\u00a0",
  "\u00a0Halal Tea",
  "Halal Thé",
  "Halal 茶",
  "Halal Tea\t2",
  "Halal a\\b",
  "Tea",
  "",
  "Halal, family",
];
const PRICES = [
  "10",
  "10.5",
  "24.99",
  "24.99",
  "100.00",
  "10.555",
  "9.99",
  "-10",
  "+10.50",
  "010.00",
  "10.",
  ".5",
  "1e3",
  "",
  " 10",
  "10 ",
  "123456789012345",
  "1234567890123456",
  "12.3456789012345",
  "abc",
];
const QUANTITIES = [
  "1",
  "2",
  "50",
  "100",
  "101",
  "0",
  "-1",
  "+5",
  "05",
  "1.0",
  "",
  " 3",
  "3 ",
  "2147483647",
  "12345678901",
];
const RULES = [
  "min_price: 10.0\nmax_quantity: 100\nrequired_fields: [product, price, quantity]\nproduct_prefix: Halal\nmax_decimals: 2\n",
  'min_price: -20\nmax_quantity: 2147483647\nrequired_fields: [product]\nproduct_prefix: ""\nmax_decimals: 3\n' +
    "column_types: {price: double precision}\n",
  "min_price: 0\nmax_quantity: 99999\nrequired_fields: []\nproduct_prefix: Halal T\nmax_decimals: 0\n" +
    "column_types: {price: NUMERIC, quantity: BIGINT}\n",
];
const FORMATS: readonly CopyFormat[] = ["text", "binary"];
const HEADERS = [
  "product,price,quantity",
  "product,price,quantity",
  "price,product,quantity",
  "PRODUCT,Price,quantity",
];

function randomFile(rnd: Random): Buffer {
  const newline = rnd() < 0.25 ? "\r\n" : "\n";
  let text = pick(rnd, HEADERS) + newline;
  const rows = 1 + Math.floor(rnd() * 40);
  for (let i = 0; i < rows; i++) {
    // Half the rows are valid as they stand under the first rules, as most rows of a real file are.
    const typical = rnd() < 0.5;
    let product = pick(rnd, typical ? PRODUCTS.slice(0, 3) : PRODUCTS);
    if (rnd() < 0.05) product = `"${product.replace(/"/g, '""')}"`;
    const price = pick(rnd, typical ? PRICES.slice(0, 5) : PRICES);
    const quantity = pick(rnd, typical ? QUANTITIES.slice(0, 4) : QUANTITIES);
    text += `${product},${price},${quantity}${rnd() < 0.03 ? ",x" : ""}`;
    if (i < rows - 1 || rnd() < 0.8) text += rnd() < 0.05 ? "\r\n" : newline;
  }
  return Buffer.from(text, "utf8");
}

async function encode(input: Buffer, cuts: number[], rules: RuleSet, bytePath: boolean, format: CopyFormat) {
  const chunks: Buffer[] = [];
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    pieces.push(Buffer.from(input.subarray(start, cut)));
    start = cut;
  }
  const encoder = new SalesEncoder({ file: "t.csv", rules, bytePath, chunkSize: 64, format });
  await pipeline(
    Readable.from(pieces),
    encoder,
    new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) }),
  );
  return { copy: Buffer.concat(chunks).toString("latin1"), report: encoder.report };
}

describe("encoder: byte path against string path", function () {
  this.timeout(120_000);

  it(`random files under three rule sets (every column type), chunked at random, text or binary: same COPY bytes and report (seed ${SEED})`, async () => {
    const rnd = seededRandom(SEED);
    const rules = RULES.map((text) => parseRules(text));
    // Counts the lines the byte path took, so the test can tell that it was exercised, not skipped.
    const accepts = SaleValidator.prototype.acceptsAsIs;
    let taken = 0;
    let lines = 0;
    SaleValidator.prototype.acceptsAsIs = function (...args) {
      const at = accepts.apply(this, args);
      if (at !== -1) taken++;
      return at;
    };
    try {
      for (let n = 0; n < 1500; n++) {
        const input = randomFile(rnd);
        const ruleSet = pick(rnd, rules);
        const { format } = chooseCopyFormat(ruleSet, pick(rnd, FORMATS)); // NUMERIC goes as text
        const cuts: number[] = [];
        for (let at = 1 + Math.floor(rnd() * 40); at < input.length; at += 1 + Math.floor(rnd() * 40))
          cuts.push(at);
        let expected: Awaited<ReturnType<typeof encode>> | Error;
        let got: Awaited<ReturnType<typeof encode>> | Error;
        expected = await encode(input, [], ruleSet, false, format).catch((error: Error) => error);
        got = await encode(input, cuts, ruleSet, true, format).catch((error: Error) => error);
        if (expected instanceof Error) expected = new Error(expected.message);
        if (got instanceof Error) got = new Error(got.message);
        lines += input.toString().split("\n").length - 1;
        if (JSON.stringify(got) !== JSON.stringify(expected) || String(got) !== String(expected)) {
          const where = `case ${n} (${format}): ${JSON.stringify(input.toString())} cut at [${cuts.join(",")}]`;
          expect(got, where).to.deep.equal(expected);
        }
      }
    } finally {
      SaleValidator.prototype.acceptsAsIs = accepts;
    }
    expect(taken, "lines the byte path took").to.be.greaterThan(lines / 20);
    expect(taken, "lines the byte path declined").to.be.lessThan(lines * 0.9);
  });
});
