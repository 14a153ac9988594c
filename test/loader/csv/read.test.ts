import { expect } from "chai";
import { CsvReader } from "../../../loader/csv/read";
import { readHeader } from "../../../loader/csv/header";
import type { SalesDbError } from "../../../loader/errors";
import { throwsWith, type ExpectedError } from "../../support/errors";

type Parsed = { fields: string[]; line: number }[];

/** Parses `input`, fed in pieces cut at `cuts` byte offsets, to check chunk boundaries never matter. */
function parse(input: string | Buffer, cuts: number[] = [], maxRecordSize?: number): Parsed {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  const records: Parsed = [];
  const parser = new CsvReader("t.csv", (fields, line) => records.push({ fields, line }), maxRecordSize);
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.write(bytes.subarray(start, cut));
    start = cut;
  }
  parser.end();
  return records;
}

/** The error parsing `input` raises, checked against `expected`; fed whole, then cut at every byte. */
function parseError(input: string | Buffer, expected: ExpectedError, maxRecordSize?: number): SalesDbError {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  for (let cut = 1; cut < bytes.length; cut++) throwsWith(() => parse(bytes, [cut], maxRecordSize), expected);
  return throwsWith(() => parse(bytes, [], maxRecordSize), expected);
}

describe("csv", () => {
  it("splits plain records and numbers lines from 1", () => {
    expect(parse("a,b,c\n1,2,3\n")).to.deep.equal([
      { fields: ["a", "b", "c"], line: 1 },
      { fields: ["1", "2", "3"], line: 2 },
    ]);
  });

  it("handles CRLF, a missing final newline and blank lines, keeping physical line numbers", () => {
    expect(parse("a,b\r\n\r\n1,2\r\n\n3,4")).to.deep.equal([
      { fields: ["a", "b"], line: 1 },
      { fields: ["1", "2"], line: 3 },
      { fields: ["3", "4"], line: 5 },
    ]);
  });

  it("drops a UTF-8 byte order mark", () => {
    expect(parse("\uFEFFproduct,price\n")[0]?.fields).to.deep.equal(["product", "price"]);
  });

  it("reads quoted fields with commas, doubled quotes and newlines (csv-spectrum cases)", () => {
    const text = 'h1,h2,h3\n"Halal, Inc",24.99,"say ""hi"""\n"multi\nline\r\nfield",1,2\n"",x,""\nlast,1,2\n';
    expect(parse(text)).to.deep.equal([
      { fields: ["h1", "h2", "h3"], line: 1 },
      { fields: ["Halal, Inc", "24.99", 'say "hi"'], line: 2 },
      { fields: ["multi\nline\r\nfield", "1", "2"], line: 3 },
      { fields: ["", "x", ""], line: 6 },
      { fields: ["last", "1", "2"], line: 7 },
    ]);
  });

  it("gives the same records whatever the chunk boundaries, multi-byte characters included", () => {
    const text = 'p,q\n"a,""b""\nc",Ünïcødé €\r\nplain,"x"\n"end",é';
    const bytes = Buffer.from(text, "utf8");
    const whole = parse(bytes);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parse(bytes, [cut]), `cut at byte ${cut}`).to.deep.equal(whole);
    }
    for (let cut = 1; cut + 3 < bytes.length; cut++) {
      expect(parse(bytes, [cut, cut + 1, cut + 3]), `cuts at ${cut}`).to.deep.equal(whole);
    }
  });

  it("keeps ragged rows as they are; the encoder rejects them", () => {
    expect(parse("a,b,c\n1,2\n1,2,3,4\n").map((r) => r.fields.length)).to.deep.equal([3, 2, 4]);
  });

  describe("structural errors", () => {
    it("an unclosed quote names the line where the field opened", () => {
      const error = parseError('a,b\n1,2\n"open,3\nmore\n', { code: "csv_unclosed_quote", line: 3 });
      expect(error.message).to.equal(
        "t.csv:3: a quoted field opens on this line and never closes (add the closing quote)",
      );
    });

    it("names the line of the unclosed field, not of its record, when an earlier field spans lines", () => {
      parseError('a,b\n"two\nlines",\n"open\n', { code: "csv_unclosed_quote", line: 4 });
    });

    it("text after a closing quote is its own error, with its line", () => {
      parseError('a,b\n1,2\n"x"y,1\n', {
        code: "csv_invalid_closing_quote",
        line: 3,
        message: /^t\.csv:3: text follows the closing quote/,
      });
    });

    it("a quote inside an unquoted field is its own error, with its line (quotes are strict RFC 4180)", () => {
      parseError('a,b\nHalal 12" screen,1\n', {
        code: "csv_invalid_opening_quote",
        line: 2,
        message: 'write the quote twice: "12"" screen"',
      });
    });

    it("a quote-free line over the record limit is refused by csv-parse's count, with its line", () => {
      parseError(
        `a\n1\n${"x".repeat(60)}\n`,
        {
          code: "csv_record_too_long",
          line: 3,
          message: "t.csv:3: record longer than the 50-character limit",
        },
        50,
      );
      // Commas are not field content: 60 characters of text, 30 of content, is a record.
      expect(parse(`a\n${"x,".repeat(30)}\n`, [], 50)[1]?.fields).to.have.length(31);
    });

    it("invalid UTF-8 names the line", () => {
      const bytes = Buffer.concat([
        Buffer.from("a,b\n1,2\nbad"),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(",3\n"),
      ]);
      parseError(bytes, {
        code: "csv_encoding",
        line: 3,
        message: "t.csv:3: invalid UTF-8; the file must be UTF-8 text",
      });
    });

    it("a file cut inside a character says so, with the last line", () => {
      const bytes = Buffer.concat([Buffer.from("a,b\n1,2\nHalal "), Buffer.from("€").subarray(0, 2)]);
      parseError(bytes, { code: "csv_encoding", line: 3, message: "invalid UTF-8 at the end of the file" });
    });

    it("a NUL byte names its line", () => {
      parseError("a,b\n1,2\n3,4\nx\u0000y,5\n", { code: "csv_encoding", line: 4, message: "NUL byte" });
    });

    for (const [what, opening] of [
      ["an unclosed quote", '"'],
      ["a line without end", ""],
    ] as const) {
      it(`${what} fails within 4 × the record limit of text, so memory stays flat`, () => {
        const parser = new CsvReader("t.csv", () => {}, 1000);
        parser.write(Buffer.from(`a,b\n${opening}`));
        const chunk = Buffer.alloc(500, "x");
        let written = 0;
        throwsWith(
          () => {
            for (; written < 100_000; written += chunk.length) parser.write(chunk);
          },
          { code: "csv_record_too_long", line: 2 },
        );
        expect(written).to.be.at.most(4 * 1000);
      });
    }
  });

  describe("header", () => {
    it("matches columns by name in any order and case", () => {
      expect(readHeader(["Quantity", " product ", "PRICE"], "t.csv")).to.deep.equal({
        positions: { quantity: 0, product: 1, price: 2 },
        width: 3,
      });
    });
    for (const [fields, message] of [
      [["product", "price"], "t.csv:1: missing column quantity"],
      [["product"], "t.csv:1: missing columns price, quantity"],
      [["product", "price", "price", "quantity"], 't.csv:1: duplicate column "price"'],
      [
        ["product", "price", "quantity", "colour"],
        't.csv:1: unknown column "colour" (expected product, price, quantity)',
      ],
    ] as const) {
      it(`fails on ${message.slice(9)}`, () => {
        const error = throwsWith(() => readHeader(fields, "t.csv"), { code: "csv_header", line: 1 });
        expect(error.message).to.equal(message);
      });
    }
  });
});
