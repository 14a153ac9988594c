import { expect } from "chai";
import { numericFieldBound, writeNumeric } from "../../../../loader/copy/binary/numeric";

/** The field of `text` read back: [length, ndigits, weight, sign, dscale, ...digits]. */
function field(text: string): number[] {
  const out = Buffer.alloc(numericFieldBound(text.length));
  const end = writeNumeric(new DataView(out.buffer), 0, Buffer.from(text, "latin1"), 0, text.length);
  const words = [out.readInt32BE(0), out.readInt16BE(4), out.readInt16BE(6), out.readUInt16BE(8)];
  for (let pos = 10; pos < end; pos += 2) words.push(out.readInt16BE(pos));
  expect(out.readInt32BE(0), "length word").to.equal(end - 4);
  return words;
}

// What numeric_recv is given must be what numeric_in stores for the same text; exact-values.pg.test.ts compares
// with the server. These pin the layout: base-10000 digits aligned on the point, no leading or trailing zero digit,
// the weight of the first, the sign, and the scale as written.
describe("numeric in COPY binary", () => {
  it("aligns base-10000 digits on the decimal point and keeps the written scale", () => {
    expect(field("12.50")).to.deep.equal([12, 2, 0, 0, 2, 12, 5000]);
    expect(field("00123456789.123456789")).to.deep.equal([20, 6, 2, 0, 9, 1, 2345, 6789, 1234, 5678, 9000]);
  });

  it("drops zero digits at either end, with the weight of the first digit left", () => {
    expect(field("100000000")).to.deep.equal([10, 1, 2, 0, 0, 1]);
    expect(field("0.00005")).to.deep.equal([10, 1, -2, 0, 5, 5000]);
    expect(field("10000.0001")).to.deep.equal([14, 3, 1, 0, 4, 1, 0, 1]);
  });

  it("writes zero without digits and positive, whatever its sign, scale kept", () => {
    expect(field("-0.00")).to.deep.equal([8, 0, 0, 0, 2]);
    expect(field("0")).to.deep.equal([8, 0, 0, 0, 0]);
  });

  it("reads signs and a bare point at either end", () => {
    expect(field("-1.5")).to.deep.equal([12, 2, 0, 0x4000, 1, 1, 5000]);
    expect(field("+7")).to.deep.equal([10, 1, 0, 0, 0, 7]);
    expect(field(".5")).to.deep.equal([10, 1, -1, 0, 1, 5000]);
    expect(field("10.")).to.deep.equal([10, 1, 0, 0, 0, 10]);
  });

  it("holds a 309-digit price, the longest a validated one can be, within its bound", () => {
    const text = `${"9".repeat(309)}.${"9".repeat(15)}`;
    const words = field(text);
    expect(words.slice(1, 5)).to.deep.equal([82, 77, 0, 15]);
    expect(words.slice(5, 7)).to.deep.equal([9, 9999]);
    expect(words.at(-1)).to.equal(9990);
  });
});
