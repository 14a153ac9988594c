import { expect } from "chai";
import { Writable } from "node:stream";
import { createLogger, formatTimestamp } from "../../loader/log";
import { rejectLogger } from "../../loader/rules/report";
import { waitFor } from "../support/wait";

/** A stream that records each write. */
function recorder() {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { out, writes, text: () => writes.join("") };
}

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (DEBUG|INFO|WARNING|ERROR) - .*$/;

describe("log", () => {
  it("formats timestamps as Python's logging does", () => {
    expect(formatTimestamp(new Date(2025, 3, 5, 9, 7, 3, 45))).to.equal("2025-04-05 09:07:03,045");
  });

  it("writes many warnings in a few large chunks, every line in the spec's format", () => {
    const { out, writes, text } = recorder();
    const logger = createLogger("info", out);
    for (let i = 0; i < 5000; i++)
      logger.warning(`Invalid sale: line ${i + 2} [product_prefix]: product="x${i}"`);
    logger.flush?.();
    const lines = text().trimEnd().split("\n");
    expect(lines).to.have.length(5000);
    for (const line of lines) expect(line).to.match(LINE);
    expect(lines[4999]).to.match(/ - WARNING - Invalid sale: line 5001 \[product_prefix\]: product="x4999"$/);
    expect(writes.length).to.be.within(2, 10);
    for (const write of writes.slice(0, -1)) expect(write.length).to.be.within(60 * 1024, 64 * 1024);
  });

  it("writes buffered warnings before a message of another level, keeping their order", () => {
    const { out, writes, text } = recorder();
    const logger = createLogger("info", out);
    logger.warning("first");
    logger.warning("second");
    expect(writes).to.deep.equal([]);
    logger.info("third");
    expect(
      text()
        .trimEnd()
        .split("\n")
        .map((line) => line.replace(/^.* - /, "")),
    ).to.deep.equal(["first", "second", "third"]);
  });

  it("keeps order and every character around a line too long for the buffer", () => {
    const { out, text } = recorder();
    const logger = createLogger("info", out);
    const long = "é€😀".repeat(10_000);
    logger.warning("before");
    logger.warning(long);
    logger.warning("after");
    logger.flush?.();
    const messages = text()
      .trimEnd()
      .split("\n")
      .map((line) => line.replace(/^.*? - WARNING - /, ""));
    expect(messages).to.deep.equal(["before", long, "after"]);
  });

  it("writes a lone warning by itself, without a flush", async () => {
    const { out, text } = recorder();
    createLogger("info", out).warning("late");
    await waitFor(async () => text() !== "");
    expect(text()).to.match(/ - WARNING - late\n$/);
  });

  it("writes nothing below its level, and rejectLogger is off when warnings are", () => {
    const { out, text } = recorder();
    const logger = createLogger("error", out);
    logger.warning("hidden");
    logger.info("hidden");
    logger.flush?.();
    expect(text()).to.equal("");
    expect(rejectLogger(logger)).to.equal(undefined);
  });
});
