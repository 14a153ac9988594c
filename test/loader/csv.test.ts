import { expect } from "chai";
import { CsvReader } from "../../loader/csv";
import { readHeader } from "../../loader/csv-header";
import { SalesDbError } from "../../loader/errors";

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

function parseError(input: string | Buffer, maxRecordSize?: number): SalesDbError {
  try {
    parse(input, [], maxRecordSize);
  } catch (error) {
    expect(error).to.be.instanceOf(SalesDbError);
    return error as SalesDbError;
  }
  throw new Error("expected a parse error");
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
      const error = parseError('a,b\n1,2\n"open,3\nmore\n');
      expect(error.code).to.equal("csv_unclosed_quote");
      expect(error.line).to.equal(3);
      expect(error.message).to.equal(
        "t.csv:3: a quoted field opens on this line and never closes (add the closing quote)",
      );
    });

    it("names the line of the unclosed field, not of its record, when an earlier field spans lines", () => {
      const error = parseError('a,b\n"two\nlines",\n"open\n');
      expect([error.code, error.line]).to.deep.equal(["csv_unclosed_quote", 4]);
    });

    it("text after a closing quote is its own error, with its line", () => {
      const error = parseError('a,b\n1,2\n"x"y,1\n');
      expect([error.code, error.line]).to.deep.equal(["csv_invalid_closing_quote", 3]);
      expect(error.message).to.match(/^t\.csv:3: text follows the closing quote/);
    });

    it("a quote inside an unquoted field is its own error, with its line (quotes are strict RFC 4180)", () => {
      const error = parseError('a,b\nHalal 12" screen,1\n');
      expect([error.code, error.line]).to.deep.equal(["csv_invalid_opening_quote", 2]);
      expect(error.message).to.include('write the quote twice: "12"" screen"');
    });

    it("csv-parse's errors map to distinct codes of ours", () => {
      const codes = [
        parseError('a\n"open'),
        parseError('a\n"x"y\n'),
        parseError('a\nx"y\n'),
        parseError(`a\n${"x".repeat(100)}\n`, 50),
      ].map((error) => error.code);
      expect(new Set(codes).size).to.equal(4);
      expect(codes).not.to.include("csv_syntax");
    });

    it("a quote-free line over the record limit is refused by csv-parse's count, with its line", () => {
      const error = parseError(`a\n1\n${"x".repeat(60)}\n`, 50);
      expect([error.code, error.line]).to.deep.equal(["csv_record_too_long", 3]);
      expect(error.message).to.equal("t.csv:3: record longer than the 50-character limit");
      // Commas are not field content: 60 characters of text, 30 of content, is a record.
      expect(parse(`a\n${"x,".repeat(30)}\n`, [], 50)[1]?.fields).to.have.length(31);
    });

    it("invalid UTF-8 names the line", () => {
      const bytes = Buffer.concat([
        Buffer.from("a,b\n1,2\nbad"),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(",3\n"),
      ]);
      const error = parseError(bytes);
      expect(error.code).to.equal("csv_encoding");
      expect(error.message).to.equal("t.csv:3: invalid UTF-8; the file must be UTF-8 text");
    });

    it("a NUL byte names its line", () => {
      const error = parseError("a,b\n1,2\n3,4\nx\u0000y,5\n");
      expect(error.code).to.equal("csv_encoding");
      expect(error.line).to.equal(4);
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
        let error: unknown;
        try {
          for (; written < 100_000; written += chunk.length) parser.write(chunk);
        } catch (e) {
          error = e;
        }
        expect(written).to.be.at.most(4 * 1000);
        expect((error as SalesDbError).code).to.equal("csv_record_too_long");
        expect((error as SalesDbError).line).to.equal(2);
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
        let error: unknown;
        try {
          readHeader(fields, "t.csv");
        } catch (e) {
          error = e;
        }
        expect((error as SalesDbError).code).to.equal("csv_header");
        expect((error as SalesDbError).message).to.equal(message);
      });
    }
  });
});
