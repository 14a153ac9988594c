import { expect } from "chai";
import { seededRandom } from "../../../bench/random";
import { describeReject, type Reject } from "../../../loader/rules/report";

/** describeReject as plainly defined: every value as JSON.stringify writes it. */
function plainly(reject: Reject): string {
  const ragged = reject.fieldCount === undefined ? "" : ` (${reject.fieldCount} fields)`;
  const values = Object.entries(reject.values).map(
    ([column, value]) => ` ${column}=${JSON.stringify(value)}`,
  );
  return `line ${reject.line} [${reject.rules.join(", ")}]${ragged}:${values.join("")}`;
}

describe("describeReject", () => {
  it("writes each value as JSON.stringify does, on 20,000 random values with quotes, controls and surrogates (seeded)", () => {
    const rnd = seededRandom(20261204);
    const pieces = [
      "a",
      "Halal Tea",
      " ",
      "é",
      "茶",
      '"',
      "\\",
      "\n",
      "\u0000",
      "\u001f",
      "\u007f",
      "\u2028",
      "😀",
      "\ud83d",
      "\ude00",
    ];
    const text = () => {
      let value = "";
      for (let i = Math.floor(rnd() * 6); i > 0; i--) value += pieces[Math.floor(rnd() * pieces.length)];
      return value;
    };
    for (let n = 0; n < 20_000; n++) {
      const reject: Reject = {
        line: n + 2,
        rules: n % 3 ? ["product_prefix"] : ["product_prefix", "min_price"],
        values: n % 7 ? { product: text(), price: text(), quantity: text() } : { product: text() },
        ...(n % 7 ? {} : { fieldCount: 1 }),
      };
      expect(describeReject(reject)).to.equal(plainly(reject));
    }
  });
});
