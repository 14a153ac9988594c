import { expect } from "chai";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { seededRandom } from "../../../../bench/random";
import { parseRules, type RuleSet } from "../../../../loader/rules/rules-file";
import { loadFixture } from "../../../support/loading";

/**
 * Differential test of COPY binary against the server's own input functions: prices are loaded through the whole
 * loader (CSV, validation, byte path or string path, binary rows, COPY), each row's product holding its price's
 * text, and the server compares every stored value with the same text cast by it (`text::real` is float4in,
 * strtof), bit for bit (the sign of zero included). Only differences come back.
 */
const RULES = `min_price: -3.5e38
max_quantity: 100
required_fields: [product, price, quantity]
product_prefix: ""
`;
const rules = (maxDecimals: number, price: string): RuleSet =>
  parseRules(`${RULES}max_decimals: ${maxDecimals}\ncolumn_types: {price: ${price}}\n`);

/** The cents ranges loaded as REAL: 0.00 to 39,999.99, and 160,000.00 to 179,999.99 across 2^24 cents. */
const CENT_RANGES: readonly (readonly [number, number])[] = [
  [0, 4_000_000],
  [16_000_000, 18_000_000],
];

/** Differences between the stored price and the server's cast of the product (the price's text), per column type. */
const DIFFERENCES: Readonly<Record<string, string>> = {
  REAL: `price <> product::real OR (price = 0 AND float4send(price) <> float4send(product::real))`,
  "DOUBLE PRECISION": `price <> product::float8 OR (price = 0 AND float8send(price) <> float8send(product::float8))`,
};

describe("COPY binary stores exactly what the server's input functions give the same text (real PostgreSQL)", function () {
  this.timeout(180_000);
  const t = loadFixture();

  /** Loads one row per price (`product` = the price's text), as `type`, and returns the rows that differ. */
  async function differences(prices: Iterable<string>, type: string, maxDecimals: number) {
    const file = `${t.files.dir}/prices-${type.replace(" ", "-")}.csv`;
    const written = await writeCsv(file, prices);
    const report = await t.load(file, { rules: rules(maxDecimals, type) });
    expect(report).to.include({ copyFormat: "binary", valid: written.rows, rejected: 0 });
    expect(written.stringPath, "rows on the string path").to.be.greaterThan(0);
    return t.db.query(`SELECT product, price::text FROM sales WHERE ${DIFFERENCES[type]} LIMIT 10`);
  }

  it("REAL: every price of up to 2 decimals in 0 to 39,999.99 and 160,000 to 179,999.99 (6,000,000 values)", async () => {
    expect(await differences(centPrices(), "REAL", 2)).to.deep.equal([]);
  });

  it("REAL: float32 midpoints and the 15-decimal prices beside them, the largest and smallest accepted, long digits", async () => {
    expect(await differences(hardPrices(), "REAL", 15)).to.deep.equal([]);
  });

  it("DOUBLE PRECISION: prices of up to 2 decimals to 9,999.99, random ones of 15 digits, and the hard cases", async () => {
    const prices = [...centPrices(1_000_000), ...randomPrices(200_000), ...hardPrices()];
    expect(await differences(prices, "DOUBLE PRECISION", 15)).to.deep.equal([]);
  });
});

/** Writes `product,price,quantity` rows whose product is the price's text; every eighth price takes the string path (a space before it). */
async function writeCsv(
  file: string,
  prices: Iterable<string>,
): Promise<{ rows: number; stringPath: number }> {
  const out = createWriteStream(file);
  let chunk = "product,price,quantity\n";
  let rows = 0;
  let stringPath = 0;
  for (const price of prices) {
    const spaced = rows++ % 8 === 7;
    if (spaced) stringPath++;
    chunk += `${price},${spaced ? " " : ""}${price},1\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
  return { rows, stringPath };
}

/** Every cent in CENT_RANGES (or below `below`), written as users write prices: mostly `12.50`, sometimes `12.5`, `12`, `012.50`. */
function* centPrices(below?: number): Generator<string> {
  const ranges = below === undefined ? CENT_RANGES : [[0, below] as const];
  for (const [from, to] of ranges) {
    for (let cents = from; cents < to; cents++) {
      const units = Math.floor(cents / 100);
      const fraction = String(cents % 100).padStart(2, "0");
      if (cents % 10 === 0 && cents % 3 === 0) yield `${units}.${fraction[0]}`;
      else if (cents % 100 === 0 && cents % 7 === 0) yield String(units);
      else if (cents % 11 === 0) yield `0${units}.${fraction}`;
      else yield `${units}.${fraction}`;
    }
  }
}

/** `count` random prices of 1 to 15 digits and up to 15 decimals, half of them negative (seeded). */
function* randomPrices(count: number): Generator<string> {
  const rnd = seededRandom(20261204);
  for (let n = 0; n < count; n++) {
    const digits = String(Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 15))));
    const decimals = Math.floor(rnd() * Math.min(digits.length, 16));
    yield `${n % 2 ? "-" : ""}${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`;
  }
}

const FLT_MAX = ((1n << 24n) - 1n) << 104n;
/** The largest integer whose nearest double is still FLT_MAX's (the validator's bound), half a double step above it. */
const LARGEST_ACCEPTED = FLT_MAX + (1n << 74n) - 1n;

/**
 * Float32 midpoints in every binade from 2^-30 to 2^127: the exact midpoint (a tie, to even), and, at 15
 * decimals, the prices next to it, whose nearest double is often the midpoint itself (where Math.fround goes
 * wrong); then zeros of both signs, the smallest and largest prices accepted, and long digit strings.
 */
function hardPrices(): string[] {
  const rnd = seededRandom(22);
  const prices = new Set<string>();
  for (let exponent = -30; exponent <= 127; exponent++) {
    for (let n = 0; n < 40; n++) {
      // A float32 of this binade: its edges, then random ones (bar FLT_MAX, whose upper midpoint is not accepted).
      const mantissa = n === 0 ? 0n : n === 1 ? (1n << 23n) - 2n : BigInt(Math.floor(rnd() * (2 ** 23 - 1)));
      const midpoint = decimal((((1n << 23n) + mantissa) << 1n) + 1n, exponent - 24);
      for (const price of beside(midpoint)) prices.add(n % 2 ? `-${price}` : price);
    }
  }
  for (const special of [
    "0",
    "-0",
    "0.000000000000000",
    "-0.00",
    "0.000000000000001",
    "-0.000000000000001",
    "1",
    "10.",
    ".5",
    String(FLT_MAX),
    `-${FLT_MAX}`,
    `${FLT_MAX}.999999999999999`,
    String(LARGEST_ACCEPTED),
    `-${LARGEST_ACCEPTED}`,
    `${"0".repeat(60)}12.50`,
    `${"0".repeat(60)}.000000000000001`,
    "16777217.000000000000001",
    "16777216.999999999999999",
    "9007199254740993",
    "9007199254740993.000000000000001",
    "0.500000923871994",
    "0.500001460313797",
  ]) {
    prices.add(special);
  }
  for (let n = 0; n < 2_000; n++) {
    // Long digit strings: 16 to 39 significant digits below FLT_MAX, up to 15 of them decimals.
    let digits = String(1 + Math.floor(rnd() * 9));
    const length = 16 + Math.floor(rnd() * 24);
    while (digits.length < length) digits += String(Math.floor(rnd() * 10));
    const decimals = Math.floor(rnd() * 16);
    if (BigInt(digits) / 10n ** BigInt(decimals) >= FLT_MAX) continue;
    prices.add(`${digits.slice(0, -decimals || undefined)}${decimals ? `.${digits.slice(-decimals)}` : ""}`);
  }
  return [...prices];
}

/** The decimal text of `odd` * 2^power, exactly. */
function decimal(odd: bigint, power: number): { integer: bigint; fraction: string } {
  if (power >= 0) return { integer: odd << BigInt(power), fraction: "" };
  const scaled = (odd * 5n ** BigInt(-power)).toString().padStart(-power + 1, "0");
  return { integer: BigInt(scaled.slice(0, power)), fraction: scaled.slice(power).replace(/0+$/, "") };
}

/** A midpoint itself when it has at most 15 decimals, and the 15-decimal prices just below and above it. */
function beside({ integer, fraction }: { integer: bigint; fraction: string }): string[] {
  const prices: string[] = [];
  if (fraction.length <= 15) prices.push(fraction ? `${integer}.${fraction}` : String(integer));
  const at15 = BigInt(`${integer}${fraction.padEnd(15, "0").slice(0, 15)}`);
  const exact = fraction.length <= 15;
  for (const units of exact ? [at15 - 1n, at15 + 1n] : [at15, at15 + 1n]) {
    if (units < 0n) continue;
    const text = units.toString().padStart(16, "0");
    prices.push(`${text.slice(0, -15)}.${text.slice(-15)}`);
  }
  return prices;
}
