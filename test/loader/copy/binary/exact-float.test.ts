import { expect } from "chai";
import {
  float32FromDigits,
  float32OfDecimal,
  float64FromDigits,
  float64OfDecimal,
} from "../../../../loader/copy/binary/exact-float";
import { seededRandom } from "../../../../bench/random";

/** The float32 with these bits. */
const float32Bits = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0] as number;
const FLT_MAX = float32Bits(0x7f7fffff);

// What strtof gives is proven against the server in exact-values.pg.test.ts; these pin the reasoning down.
describe("exact floats: float32 as strtof rounds, float64 as strtod", () => {
  it("rounds a value just above a float32 midpoint up, where Math.fround(Number()) rounds twice and goes down", () => {
    // 2^24 + 1 is the midpoint between 2^24 and 2^24 + 2; its nearest double is the midpoint itself.
    expect(Math.fround(Number("16777217.000000001"))).to.equal(16777216);
    expect(float32OfDecimal("16777217.000000001")).to.equal(16777218);
    expect(float32OfDecimal("16777216.999999999")).to.equal(16777216);
    expect(float32OfDecimal("-16777217.000000001")).to.equal(-16777218);
  });

  it("rounds a value exactly on a midpoint to the even neighbour", () => {
    expect(float32OfDecimal("16777217")).to.equal(16777216);
    expect(float32OfDecimal("16777219.0")).to.equal(16777220);
    expect(float32OfDecimal("1.000000059604644775390625")).to.equal(1); // 1 + 2^-24
  });

  it("settles a midpoint tie from digits as from text, down to the 15 digits the byte path reads", () => {
    // 15 decimals: each double lies on a midpoint, below it for the first, above it for the second.
    expect(Math.fround(0.500000923871994)).to.equal(float32Bits(0x3f000010));
    expect(float32FromDigits(500000923871994, 15, false)).to.equal(float32Bits(0x3f00000f));
    expect(Math.fround(0.500001460313797)).to.equal(float32Bits(0x3f000018));
    expect(float32FromDigits(500001460313797, 15, false)).to.equal(float32Bits(0x3f000019));
    expect(float32OfDecimal("0.500001460313797")).to.equal(float32Bits(0x3f000019));
    expect(float32FromDigits(8000000476837159, 15, false)).to.equal(float32OfDecimal("8.000000476837159"));
    expect(float32OfDecimal("8.000000476837159")).to.equal(float32Bits(0x41000001));
    expect(float32FromDigits(5, 25, false)).to.equal(float32OfDecimal("0.0000000000000000000000005"));
    expect(float32OfDecimal("0.0000000000000000000000005")).to.equal(Math.fround(5e-25));
  });

  it("keeps the largest float32 for text up to half a step above it, and the sign of zero", () => {
    expect(float32OfDecimal("340282346638528859811704183484516925440")).to.equal(FLT_MAX);
    // FLT_MAX + 2^103 - 1: below the midpoint to 2^128, though its nearest double is that midpoint.
    expect(Math.fround(Number("340282356779733661637539395458142568447"))).to.equal(Infinity);
    expect(float32OfDecimal("340282356779733661637539395458142568447")).to.equal(FLT_MAX);
    expect(float32OfDecimal("340282356779733661637539395458142568448")).to.equal(Infinity);
    expect(Object.is(float32OfDecimal("-0.00"), -0)).to.equal(true);
    expect(Object.is(float32FromDigits(0, 2, true), -0)).to.equal(true);
  });

  it("reads every literal shape validation lets through: signs, leading zeros, a bare point at either end", () => {
    expect(float32OfDecimal("+0012.50")).to.equal(Math.fround(12.5));
    expect(float32OfDecimal("10.")).to.equal(10);
    expect(float32OfDecimal(".5")).to.equal(0.5);
    expect(float32OfDecimal("-.25")).to.equal(-0.25);
    expect(float32OfDecimal(`${"0".repeat(1000)}1.5`)).to.equal(1.5);
  });

  it("agrees with one rounding of the exact value on random prices of up to 20 digits (seeded)", () => {
    const rnd = seededRandom(20261204);
    for (let n = 0; n < 20_000; n++) {
      const digits = String(Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 15)))) + (n % 3 ? "" : "37");
      const decimals = Math.floor(rnd() * Math.min(digits.length, 15));
      const text = `${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`;
      const value = float32OfDecimal(text);
      // No double rounding can go wrong unless the double lies on a midpoint: elsewhere fround is strtof.
      if (!onMidpoint(Number(text))) expect(value, text).to.equal(Math.fround(Number(text)));
      if (digits.length <= 15)
        expect(float32FromDigits(Number(digits), decimals, false), text).to.equal(value);
    }
  });

  it("gives doubles as Number() does, from digits and from text", () => {
    expect(float64FromDigits(1234, 2, false)).to.equal(12.34);
    expect(Object.is(float64FromDigits(0, 3, true), -0)).to.equal(true);
    expect(float64FromDigits(999999999999999, 15, false)).to.equal(0.999999999999999);
    expect(float64OfDecimal("+0012.50")).to.equal(12.5);
  });
});

/** Whether `value` is exactly halfway between two adjacent float32 values (so fround had to break a tie). */
function onMidpoint(value: number): boolean {
  const rounded = Math.fround(value);
  if (rounded === value) return false;
  const bits = new Uint32Array(new Float32Array([rounded]).buffer)[0] as number;
  const other = float32Bits(rounded < value ? bits + 1 : bits - 1);
  return (rounded + other) / 2 === value;
}
