import { expect } from "chai";
import { parse } from "csv-parse/sync";
import { seededRandom } from "../../../bench/random";
import { csvOptions } from "../../../loader/csv/dialect";
import { simpleRecord } from "../../../loader/csv/simple-record";

describe("simpleRecord", () => {
  it("gives csv-parse's fields for the records it takes, on 50,000 random quoted records (seeded)", () => {
    const rnd = seededRandom(20261204);
    const pieces = ['"', '""', ",", "a", "b c", " ", "\r", "\n", "é", "😀", '"x"', '"a,b"', '"q""q"'];
    let taken = 0;
    for (let n = 0; n < 50_000; n++) {
      let text = '"';
      for (let i = Math.floor(rnd() * 8); i > 0; i--) text += pieces[Math.floor(rnd() * pieces.length)];
      if (rnd() < 0.7) text += rnd() < 0.2 ? "\r\n" : "\n";
      const fields = simpleRecord(text);
      if (fields === null) continue;
      taken++;
      expect([fields], JSON.stringify(text)).to.deep.equal(parse(text, { ...csvOptions(), bom: false }));
    }
    expect(taken, "records taken").to.be.within(1_000, 40_000);
  });

  it("leaves to csv-parse what is malformed or spans lines", () => {
    for (const text of ['"open\n', 'a"b,c\n', '"a"b,c\n', '"a\nb",c\n', '"a"\r,b\n', '"a",b\rc\n'])
      expect(simpleRecord(text), JSON.stringify(text)).to.equal(null);
    expect(simpleRecord('"a, ""b""",,c\r\n')).to.deep.equal(['a, "b"', "", "c"]);
  });
});
