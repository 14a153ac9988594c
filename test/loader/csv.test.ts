import { expect } from "chai";
import { CsvParser, MAX_RECORD_CHARS, readHeader } from "../../loader/csv";
import { SalesDbError } from "../../loader/errors";

type Parsed = { fields: string[]; line: number }[];

/** Parses `input`, fed in pieces cut at `cuts` byte offsets, to check chunk boundaries never matter. */
function parse(input: string | Buffer, cuts: number[] = []): Parsed {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  const records: Parsed = [];
  const parser = new CsvParser("t.csv", (fields, line) => records.push({ fields, line }));
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.write(bytes.subarray(start, cut));
    start = cut;
  }
  parser.end();
  return records;
}

function parseError(input: string | Buffer): SalesDbError {
  try {
    parse(input);
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

  it("keeps a quote inside an unquoted field as text", () => {
    expect(parse('Halal 12" screen,1,2\n')[0]?.fields).to.deep.equal(['Halal 12" screen', "1", "2"]);
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
    it("an unterminated quote names the line where the field opened", () => {
      const error = parseError('a,b\n1,2\n"open,3\nmore\n');
      expect(error.code).to.equal("csv_syntax");
      expect(error.line).to.equal(3);
      expect(error.message).to.equal(
        "t.csv:3: unterminated quoted field (the quote opened on this line never closes)",
      );
    });

    it("text after a closing quote is an error with its line", () => {
      const error = parseError('a,b\n"x"y,1\n');
      expect(error.code).to.equal("csv_syntax");
      expect(error.message).to.match(/^t\.csv:2: unexpected text after a closing quote/);
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

    it("a record that never ends fails once it exceeds the size cap, so memory stays flat", () => {
      const records: Parsed = [];
      const parser = new CsvParser("t.csv", (fields, line) => records.push({ fields, line }));
      parser.write(Buffer.from('a,b\n"'));
      const chunk = Buffer.alloc(64 * 1024, "x");
      let error: unknown;
      try {
        for (let written = 0; written <= MAX_RECORD_CHARS + chunk.length; written += chunk.length)
          parser.write(chunk);
      } catch (e) {
        error = e;
      }
      expect((error as SalesDbError).code).to.equal("csv_syntax");
      expect((error as SalesDbError).line).to.equal(2);
    });
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
