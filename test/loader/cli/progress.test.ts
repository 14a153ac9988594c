import { expect } from "chai";
import { createProgressBar } from "../../../loader/cli/progress";

/** A terminal that records what is written to it. */
function terminal(isTTY: boolean) {
  const written: string[] = [];
  return {
    written,
    out: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream,
  };
}

describe("progress bar", () => {
  it("erases itself before a log line or the final error, so that they start on a clean line", () => {
    const { out, written } = terminal(true);
    const bar = createProgressBar(1_000, out);
    bar.update(500);
    expect(written.join("")).to.match(/\r\[#+ +\] +50%/);
    bar.clear();
    expect(written[written.length - 1]).to.equal("\r\u001b[K");
    bar.clear(); // nothing drawn since: nothing to erase
    expect(written.filter((text) => text === "\r\u001b[K")).to.have.length(1);
  });

  it("writes nothing when the output is not a terminal", () => {
    const { out, written } = terminal(false);
    const bar = createProgressBar(1_000, out);
    bar.update(500);
    bar.done();
    expect(written).to.deep.equal([]);
  });
});
