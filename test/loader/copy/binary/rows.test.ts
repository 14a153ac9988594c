import { expect } from "chai";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseRules } from "../../../../loader/rules/rules-file";
import { SalesEncoder } from "../../../../loader/copy/sales-stream";
import type { CopyFormat } from "../../../../loader/rules/report";
import { validRows } from "../../../support/files";

const rules = (types = "") =>
  parseRules(
    `min_price: 0\nmax_quantity: 1000\nrequired_fields: [price]\nproduct_prefix: ""\nmax_decimals: 2\n${types}`,
  );

async function encode(text: string, format: CopyFormat, types = "", chunkSize?: number) {
  const encoder = new SalesEncoder({ file: "t.csv", rules: rules(types), format, chunkSize });
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from(text)]),
    encoder,
    new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }),
  );
  return { copy: Buffer.concat(chunks), report: encoder.report, chunks };
}

/** COPY binary read back: the header checked, each row's fields (null for NULL), the trailer checked. */
function rowsOf(copy: Buffer): (Buffer | null)[][] {
  expect(copy.subarray(0, 19).toString("latin1")).to.equal("PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0");
  const rows: (Buffer | null)[][] = [];
  let pos = 19;
  for (let count = copy.readInt16BE(pos); count !== -1; count = copy.readInt16BE(pos)) {
    pos += 2;
    const row: (Buffer | null)[] = [];
    for (let field = 0; field < count; field++) {
      const length = copy.readInt32BE(pos);
      pos += 4;
      row.push(length === -1 ? null : copy.subarray(pos, pos + length));
      if (length !== -1) pos += length;
    }
    rows.push(row);
  }
  expect(pos + 2, "the trailer ends the data").to.equal(copy.length);
  return rows;
}

const float4 = (value: number) => Buffer.from(new Uint8Array(new Float32Array([value]).buffer).reverse());

describe("COPY binary rows", () => {
  it("writes each valid row as text, real and integer fields, from the byte path and the string path alike", async () => {
    const { copy } = await encode(
      'product,price,quantity\nTea,12.50,3\n"Chai, hot",0.1,2\nBad,x,1\n',
      "binary",
    );
    expect(rowsOf(copy)).to.deep.equal([
      [Buffer.from("Tea"), float4(12.5), Buffer.from([0, 0, 0, 3])],
      [Buffer.from("Chai, hot"), float4(Math.fround(0.1)), Buffer.from([0, 0, 0, 2])],
    ]);
  });

  it("sends NULL for an empty optional field, and a product's bytes unescaped", async () => {
    const { copy } = await encode('product,price,quantity\n,10,\n"a\\b\tc",10,1\n', "binary");
    const [empty, raw] = rowsOf(copy);
    expect(empty).to.deep.equal([null, float4(10), null]);
    expect(raw?.[0]?.toString()).to.equal("a\\b\tc");
  });

  it("writes double precision in 8 bytes and bigint in 8", async () => {
    const types = "column_types: {price: double precision, quantity: bigint}\n";
    const { copy } = await encode("product,price,quantity\nTea,0.1,7\n", "binary", types);
    const [[, price, quantity] = []] = rowsOf(copy);
    expect(price?.readDoubleBE(0)).to.equal(0.1);
    expect(quantity?.readBigInt64BE(0)).to.equal(7n);
  });

  it("hashes the rows' COPY text, so the report's sha256 is the same in text and binary", async () => {
    const csv = 'product,price,quantity\r\nTea,12.50,3\r\n"Chai, hot",+0.10,02\r\nLast,1,1';
    const text = await encode(csv, "text");
    const binary = await encode(csv, "binary");
    expect(binary.copy).not.to.deep.equal(text.copy);
    expect(binary.report).to.deep.equal(text.report);
  });

  it("sends the header and the trailer even with no valid row", async () => {
    const { copy, report } = await encode("product,price,quantity\nBad,x,1\n", "binary");
    expect(report.valid).to.equal(0);
    expect(rowsOf(copy)).to.deep.equal([]);
  });

  it("cuts chunks of chunkSize bytes and a row at most, and gives a row longer than a buffer one of its own", async () => {
    const long = "x".repeat(20_000);
    const { copy, chunks } = await encode(`${validRows(1_000)}${long},10,1\nTea,1,1\n`, "binary", "", 1024);
    const rows = rowsOf(copy);
    expect(rows).to.have.length(1_002);
    expect(rows[1_000]?.[0]?.toString()).to.equal(long);
    const [longest, ...ordinary] = [...chunks].sort((a, b) => b.length - a.length);
    expect(longest?.length).to.be.within(20_000, 20_100);
    expect(ordinary.every((chunk) => chunk.length <= 1024 + 64)).to.equal(true);
  });
});
