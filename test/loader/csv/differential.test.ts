import { expect } from "chai";
import { CsvError, parse } from "csv-parse/sync";
import { CsvReader } from "../../../loader/csv/read";
import { CSV_PARSE_CODES, csvOptions } from "../../../loader/csv/dialect";
import { seededRandom } from "../../../bench/random";
import { SalesDbError } from "../../../loader/errors";

/**
 * Differential test: CsvReader (fast path for quote-free lines, csv-parse for the rest, fed in chunks) against plain
 * csv-parse over the whole input with the same options. Both must give the same records on the same lines, or the
 * same error on the same line. Seeded: CSV_DIFF_SEED=<n> reruns a failing seed.
 *
 * Lines are LF counts. For plain csv-parse they are derived from its own offsets: a record starts where the last
 * one ended (`info.bytes`), after the blank lines it skips; an error sits on the line where the field it stopped in
 * starts (after the comma at `bytes`, or at the record's start when no field is complete).
 *
 * Domain: valid UTF-8 without NUL (the reader's own checks, tested in csv.test.ts). Records stay below the reader's
 * memory bound (4 × max_record_size characters of text), where csv-parse's count, which leaves quotes and commas
 * out, could still be lower.
 */
const SEED = Number(process.env.CSV_DIFF_SEED ?? 20261203);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

interface Outcome {
  records: { fields: string[]; line: number }[];
  error?: { code: string; line: number };
}

function oracle(input: Buffer, maxRecordSize: number): Outcome {
  const ends: { fields: string[]; end: number }[] = [];
  const lineAt = (offset: number) => 1 + countLf(input.subarray(0, offset));
  const recordStart = (from: number) => {
    let at = Math.max(from, input.subarray(0, 3).equals(BOM) ? 3 : 0);
    for (;;) {
      if (input[at] === 0x0a) at += 1;
      else if (input[at] === 0x0d && input[at + 1] === 0x0a) at += 2;
      else return at;
    }
  };
  let error: Outcome["error"];
  try {
    parse(input, {
      ...csvOptions(maxRecordSize),
      on_record: (record: string[], context) => {
        ends.push({ fields: record, end: context.bytes });
        return record;
      },
    });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    const fieldStart = e.index === 0 ? recordStart(e.bytes as number) : (e.bytes as number) + 1;
    error = { code: CSV_PARSE_CODES[e.code] ?? "csv_syntax", line: lineAt(fieldStart) };
  }
  let previousEnd = 0;
  const records = ends.map(({ fields, end }) => {
    const line = lineAt(recordStart(previousEnd));
    previousEnd = end;
    return { fields, line };
  });
  return error ? { records, error } : { records };
}

function ours(input: Buffer, cuts: number[], maxRecordSize: number): Outcome {
  const records: Outcome["records"] = [];
  const reader = new CsvReader(
    "t.csv",
    (fields, line, plain) => {
      if (plain) expect(fields.join(""), "a plain record").not.to.match(/[\\\t\r\n]/);
      records.push({ fields, line });
    },
    maxRecordSize,
  );
  try {
    let start = 0;
    for (const cut of [...cuts, input.length]) {
      reader.write(input.subarray(start, cut));
      start = cut;
    }
    reader.end();
  } catch (e) {
    if (!(e instanceof SalesDbError) || e.line === undefined) throw e;
    return { records, error: { code: e.code, line: e.line } };
  }
  return { records };
}

function countLf(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) if (byte === 0x0a) count++;
  return count;
}

type Random = () => number;
const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
const int = (rnd: Random, max: number) => Math.floor(rnd() * (max + 1));
const repeat = (count: number, make: () => string) => Array.from({ length: count }, make).join("");

/** Characters that matter to CSV, a few plain ones, and 2-, 3- and 4-byte UTF-8. */
const TOKENS = ["a", "Z", "1", " ", "\t", "\\", "é", "€", "😀", ",", ",", '"', '"', '""', "\n", "\r\n", "\r"];
const TEXT = ["a", "b", "Halal", " ", "1", ".", "é", "€", "😀", "\t", "\\"];
const QUOTED = [...TEXT, ",", '""', "\n", "\r\n", "\r"];

/** Any text: mostly invalid CSV, which is where parsers disagree. */
function soup(rnd: Random): string {
  return repeat(int(rnd, 24), () => pick(rnd, TOKENS));
}

/** Well-formed CSV of a few records, sometimes with one token inserted, replaced or deleted. */
function structured(rnd: Random, maxField = 6): string {
  const field = () => {
    const kind = rnd();
    if (kind < 0.15) return "";
    if (kind < 0.6) return repeat(int(rnd, maxField), () => pick(rnd, TEXT));
    return `"${repeat(int(rnd, maxField), () => pick(rnd, QUOTED))}"`;
  };
  const records = Array.from({ length: 1 + int(rnd, 4) }, () =>
    Array.from({ length: 1 + int(rnd, 3) }, field).join(","),
  );
  let text = records
    .map(
      (record) => record + pick(rnd, ["\n", "\n", "\r\n"]) + (rnd() < 0.1 ? pick(rnd, ["\n", "\r\n"]) : ""),
    )
    .join("");
  if (rnd() < 0.3) text = text.slice(0, -1); // no line end after the last record, or a lone CR
  if (rnd() < 0.35) {
    const at = int(rnd, text.length);
    const op = rnd();
    const token = pick(rnd, TOKENS);
    text = text.slice(0, at) + (op < 0.67 ? token : "") + text.slice(op < 0.33 ? at : at + 1);
  }
  return text;
}

function encode(rnd: Random, text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return rnd() < 0.1 ? Buffer.concat([BOM, bytes]) : bytes;
}

/** Random chunk boundaries, some inside multi-byte characters. */
function randomCuts(rnd: Random, length: number): number[] {
  const cuts: number[] = [];
  for (let at = 1 + int(rnd, 6); at < length; at += 1 + int(rnd, 6)) cuts.push(at);
  return cuts;
}

describe("csv: differential against plain csv-parse", function () {
  this.timeout(120_000);
  // Half the inputs end in an error, thrown twice per chunking (by csv-parse, then by the reader); capturing stack
  // traces, which nobody reads here, was most of the run time.
  let stackTraceLimit: number;
  before(() => {
    stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  });
  after(() => {
    Error.stackTraceLimit = stackTraceLimit;
  });

  function check(name: string, cases: number, maxRecordSize: number, make: (rnd: Random) => string) {
    it(`${name}: ${cases} inputs, chunked at every boundary, same records and lines or same error (seed ${SEED})`, () => {
      const rnd = seededRandom(SEED ^ cases ^ maxRecordSize);
      let errors = 0;
      let records = 0;
      for (let n = 0; n < cases; n++) {
        const input = encode(rnd, make(rnd));
        const expected = oracle(input, maxRecordSize);
        if (expected.error) errors++;
        records += expected.records.length;
        const chunkings = [[], randomCuts(rnd, input.length), randomCuts(rnd, input.length)];
        // Every single chunk boundary for one input in four (the others get two random chunkings): run time.
        if (n % 4 === 0) for (let cut = 1; cut < input.length; cut++) chunkings.push([cut]);
        const want = JSON.stringify(expected);
        for (const cuts of chunkings) {
          const got = ours(input, cuts, maxRecordSize);
          // Stringify first: chai's deep equal is slow, and this runs about 200,000 times.
          if (JSON.stringify(got) !== want) {
            const where = `case ${n}: ${JSON.stringify(input.toString())} cut at [${cuts.join(",")}]`;
            expect(got, where).to.deep.equal(expected);
          }
        }
      }
      // The generator must reach both outcomes often, or the comparison proves little.
      expect(errors, "inputs csv-parse refused").to.be.greaterThan(cases / 10);
      expect(cases - errors, "inputs csv-parse accepted").to.be.greaterThan(cases / 10);
      expect(records, "records").to.be.greaterThan(cases / 2);
    });
  }

  check("random tokens", 2500, 1 << 20, soup);
  check("well-formed CSV with one edit", 2500, 1 << 20, structured);
  check("long fields against a 24-character record limit", 1000, 24, (rnd) => structured(rnd, 16));
});
