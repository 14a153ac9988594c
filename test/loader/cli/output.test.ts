import { expect } from "chai";
import { Writable } from "node:stream";
import { main } from "../../../loader/cli/main";
import { oneLineWarnings } from "../../../loader/cli/output";
import { SAMPLE_CSV, SAMPLE_RULES } from "../../support/files";

// The output guard in-process: what the command does when its stdout fails, and that it waits for its writes.

/** A stdout whose writes complete later, each failing with `code` when given; keeps what it was handed. */
function slowStdout(code?: string) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        if (code) return done(Object.assign(new Error(`write ${code}`), { code }));
        chunks.push(String(chunk));
        done();
      }, 5);
    },
  });
  stream.on("error", () => undefined); // the guard listens too; this keeps the test's stream from throwing
  return { stream, text: () => chunks.join("") };
}

function textSink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const validate = ["validate", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "-q"];

describe("the output guard (in-process)", () => {
  it("waits for its writes to complete before the command returns", async () => {
    const stdout = slowStdout();
    const stderr = textSink();
    expect(await main(validate, { stdout: stdout.stream, stderr: stderr.stream, env: {} })).to.equal(0);
    expect(stdout.text().split("\n")).to.include.members([
      `${SAMPLE_CSV}: 3 valid, 3 rejected (required_fields 1, product_prefix 2, price_numeric 1, min_price 1, max_quantity 1)`,
      '  line 5 [required_fields]: product="" price="29.99" quantity="3"',
    ]);
  });

  it("a full disk under stdout: exit 1 and one line that says so", async () => {
    const stderr = textSink();
    const code = await main(validate, {
      stdout: slowStdout("ENOSPC").stream,
      stderr: stderr.stream,
      env: {},
    });
    expect(code).to.equal(1);
    expect(stderr.text()).to.match(
      /^sales-db: could not write to standard output \(.*ENOSPC.*\); check where it goes \(disk space, permissions\)\n$/,
    );
  });

  it("a reader that went away (EPIPE): the command's own status, and nothing said", async () => {
    const stderr = textSink();
    const code = await main(validate, { stdout: slowStdout("EPIPE").stream, stderr: stderr.stream, env: {} });
    expect(code).to.equal(0);
    expect(stderr.text()).to.equal("");
  });

  it("turns Node's warnings into one line each while the command runs, and gives the old listeners back", async () => {
    const stderr = textSink();
    const before = process.listeners("warning");
    const restore = oneLineWarnings(stderr.stream);
    try {
      expect(process.listeners("warning")).to.have.length(1);
      process.emitWarning("first line\nsecond line");
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      restore();
    }
    expect(stderr.text()).to.equal("sales-db: warning: first line; second line\n");
    expect(process.listeners("warning")).to.deep.equal(before);
  });
});
