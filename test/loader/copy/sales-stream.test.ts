import { expect } from "chai";
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { loadRules, type RuleSet } from "../../../loader/rules/rules-file";
import { encodeCopyRow } from "../../../loader/copy/text";
import { asFileError, SalesEncoder, validateFile } from "../../../loader/copy/sales-stream";
import { rejectsWith } from "../../support/errors";
import { SAMPLE_CSV, SAMPLE_RULES, scratch, validRows } from "../../support/files";

describe("sales-stream", () => {
  let rules: RuleSet;
  let files: Awaited<ReturnType<typeof scratch>>;
  before(async () => {
    rules = await loadRules(SAMPLE_RULES);
    files = await scratch();
  });
  after(() => files.cleanup());

  /** Runs text through an encoder and returns its COPY output and report. */
  async function encode(text: string, options: Partial<ConstructorParameters<typeof SalesEncoder>[0]> = {}) {
    const encoder = new SalesEncoder({ file: "t.csv", rules, ...options });
    const chunks: Buffer[] = [];
    await pipeline(
      Readable.from([Buffer.from(text)]),
      encoder,
      new Writable({ write: (c, _e, done) => (chunks.push(c), done()) }),
    );
    return { copy: Buffer.concat(chunks).toString("utf8"), report: encoder.report };
  }

  it("reports the sample exactly: 3 valid rows, lines 5 to 7 rejected with every broken rule", async () => {
    const report = await validateFile({ file: SAMPLE_CSV, rules });
    expect(report.valid).to.equal(3);
    expect(report.rejected).to.equal(3);
    expect(report.rejects).to.deep.equal([
      { line: 5, rules: ["required_fields"], values: { product: "", price: "29.99", quantity: "3" } },
      {
        line: 6,
        rules: ["product_prefix", "price_numeric"],
        values: { product: "Monitor", price: "invalid", quantity: "2" },
      },
      {
        line: 7,
        rules: ["product_prefix", "min_price", "max_quantity"],
        values: { product: "Headphones", price: "5.00", quantity: "150" },
      },
    ]);
    expect(report.byRule).to.include({
      required_fields: 1,
      product_prefix: 2,
      price_numeric: 1,
      min_price: 1,
      max_quantity: 1,
      max_decimals: 0,
    });
  });

  it("emits COPY text of the valid rows and hashes exactly those bytes", async () => {
    const { copy, report } = await encode("product,price,quantity\nHalal A,10.50,1\nBad,1,1\nHalal B,11,2\n");
    expect(copy).to.equal("Halal A\t10.50\t1\nHalal B\t11\t2\n");
    expect(report.sha256).to.equal(createHash("sha256").update(copy).digest("hex"));
  });

  it("hashes the same rows the same whatever the column order, rejects or quoting", async () => {
    const a = await encode("product,price,quantity\nHalal A,10.50,1\n");
    const b = await encode('quantity,product,price\r\n1,"Halal A",10.50\r\n0,Halal Z,1\r\n');
    expect(b.report.sha256).to.equal(a.report.sha256);
  });

  it("escapes backslash, tab and newlines for COPY", () => {
    expect(encodeCopyRow({ product: "Halal a\\b\tc\nd\re", price: "10", quantity: null })).to.equal(
      "Halal a\\\\b\\tc\\nd\\re\t10\t\\N\n",
    );
  });

  it("escapes a carriage return inside an unquoted field instead of sending it raw to COPY", async () => {
    const { copy } = await encode("product,price,quantity\nHalal\rX,12.00,1\nHalal Y,12.00,1\n");
    expect(copy).to.equal("Halal\\rX\t12.00\t1\nHalal Y\t12.00\t1\n");
  });

  it("keeps at most 1,000 characters of a rejected value", async () => {
    const { report } = await encode(`product,price,quantity\nBad${"x".repeat(5000)},1,1\n`);
    expect(report.rejects[0]?.values.product)
      .to.have.length(1001)
      .and.match(/^Badx+…$/);
  });

  it("names the header's own line when blank lines come first", async () => {
    await rejectsWith(encode("\n\nproduct,price\n"), {
      code: "csv_header",
      line: 3,
      message: "t.csv:3: missing column quantity",
    });
  });

  it("leaves errors that are not about reading the file alone", () => {
    const socket = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" });
    expect(asFileError(socket, "data/sales.csv")).to.equal(socket);
  });

  it("rejects ragged rows with column_count and keeps going", async () => {
    const { report } = await encode("product,price,quantity\nHalal A,10,1,extra\nHalal B,10\nHalal C,10,1\n");
    expect(report.valid).to.equal(1);
    expect(report.rejects).to.deep.equal([
      {
        line: 2,
        rules: ["column_count"],
        values: { product: "Halal A", price: "10", quantity: "1" },
        fieldCount: 4,
      },
      { line: 3, rules: ["column_count"], values: { product: "Halal B", price: "10" }, fieldCount: 2 },
    ]);
  });

  it("lists at most maxRejects rejects but counts them all", async () => {
    const { report } = await encode(`product,price,quantity\n${"Bad,1,1\n".repeat(50)}`, { maxRejects: 5 });
    expect(report.rejected).to.equal(50);
    expect(report.rejects).to.have.length(5);
    expect(report.rejectsOmitted).to.equal(45);
  });

  it("fails on an empty file: there is no header", async () => {
    await rejectsWith(encode(""), { code: "csv_header", line: 1 });
  });

  it("names a missing CSV file", async () => {
    const error = await rejectsWith(validateFile({ file: "no/such.csv", rules }), {
      code: "file_unreadable",
      file: "no/such.csv",
    });
    expect(error.message).to.equal("no/such.csv: cannot read CSV file (ENOENT)");
  });

  it("respects backpressure: a slow consumer keeps the encoder's buffer small", async () => {
    const file = await files.write("big.csv", validRows(200_000));
    const encoder = new SalesEncoder({ file, rules });
    let maxBuffered = 0;
    let written = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _e, done) {
        written += chunk.length;
        maxBuffered = Math.max(maxBuffered, encoder.readableLength);
        setImmediate(done);
      },
    });
    await pipeline((await import("node:fs")).createReadStream(file), encoder, slow);
    expect(written).to.be.greaterThan(4_000_000);
    expect(maxBuffered).to.be.lessThan(1_000_000);
  });

  it("stops reading the file when the consumer fails (destroy propagates upstream)", async () => {
    const file = await files.write("big2.csv", validRows(100_000));
    const source = (await import("node:fs")).createReadStream(file, { highWaterMark: 16 * 1024 });
    let reads = 0;
    source.on("data", () => reads++);
    const failing = new Writable({ write: (_c, _e, done) => done(new Error("sink broke")) });
    const error = await pipeline(source, new SalesEncoder({ file, rules }), failing).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("sink broke");
    expect(source.destroyed).to.equal(true);
    expect(reads).to.be.lessThan(20);
  });
});
