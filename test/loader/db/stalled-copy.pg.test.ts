import { expect } from "chai";
import { rejectsWith } from "../../support/errors";
import { SAMPLE_CSV, validRows } from "../../support/files";
import { copying, csvHeldOpen, loadFixture, loaderSessions } from "../../support/loading";
import { tcpProxy } from "../../support/stand-ins/tcp-proxy";
import { waitFor } from "../../support/wait";

// Far below what the defect took (no end at all: a peer that keeps its window shut is waited for forever), far
// above what the bound takes on a machine ten times slower.
const FAR_BELOW_FOREVER = 30;

describe("load: a server that stops taking the COPY's bytes (a frozen network; real PostgreSQL)", () => {
  const t = loadFixture();

  it("fails within its stall bound in one line, and keeps the old rows", async function () {
    this.timeout(90_000);
    await t.load(SAMPLE_CSV);
    const before = await t.rows();
    // Far more than the loopback's socket buffers hold: the COPY still has bytes to send when the relay freezes.
    const large = await t.files.write("large.csv", validRows(2_000_000));
    const proxy = await tcpProxy(t.db.url);
    try {
      const loading = t.load(large, { connectionString: proxy.url, copyStallMs: 1_000 });
      loading.catch(() => undefined);
      await waitFor(() => copying(t.db), 30_000);
      proxy.freeze();
      const started = Date.now();
      await rejectsWith(loading, {
        code: "db_error",
        message:
          /^loading sales failed: the server stopped answering mid-COPY \(no byte taken or answered for \d+s: it, or the network to it, is down or frozen\); nothing written: check the server and load again$/,
      });
      expect((Date.now() - started) / 1000).to.be.lessThan(FAR_BELOW_FOREVER);
    } finally {
      await proxy.close();
    }
    // The relay's connections are gone with it: the server rolls the load back.
    await waitFor(async () => (await loaderSessions(t.db)) === 0, 10_000);
    expect(await t.rows()).to.deep.equal(before);
  });

  it("an input that pauses longer than the bound owes the server nothing: the load waits for it and succeeds", async function () {
    this.timeout(60_000);
    const input = await csvHeldOpen(t.files, "paused.csv", 10_000);
    try {
      const loading = t.load(input.path, { copyStallMs: 1_000 });
      await waitFor(() => copying(t.db), 30_000);
      // Four bounds' worth of waiting on the input, the COPY open.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      await input.end();
      expect((await loading).loaded).to.equal(10_000);
    } finally {
      await input.release();
    }
  });

  // Requests after which the relay holds every reply. COPY text holds no zero byte, so CopyDone ('c', length 4)
  // matches only the end of the COPY.
  const requests: [string, Buffer][] = [
    ["accept the COPY", Buffer.from('COPY "')],
    ["answer the end of the COPY", Buffer.from([0x63, 0, 0, 0, 4])],
  ];
  for (const [what, request] of requests) {
    it(`a server that never gets to ${what} fails the load within the same bound, and keeps the old rows`, async function () {
      this.timeout(60_000);
      await t.load(SAMPLE_CSV);
      const before = await t.rows();
      const proxy = await tcpProxy(t.db.url);
      try {
        proxy.holdRepliesAfter(request);
        const started = Date.now();
        await rejectsWith(
          t.load(await t.files.write("rows.csv", validRows(1_000)), {
            connectionString: proxy.url,
            copyFormat: "text",
            copyStallMs: 1_000,
          }),
          { code: "db_error", message: /^loading sales failed: the server stopped answering mid-COPY / },
        );
        expect((Date.now() - started) / 1000).to.be.lessThan(FAR_BELOW_FOREVER);
      } finally {
        await proxy.close();
      }
      await waitFor(async () => (await loaderSessions(t.db)) === 0, 10_000);
      expect(await t.rows()).to.deep.equal(before);
    });
  }
});
