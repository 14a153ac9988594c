import { expect } from "chai";
import { rejectsWith } from "../../support/errors";
import { SAMPLE_CSV, validRows } from "../../support/files";
import { copying, loadFixture } from "../../support/loading";
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
      const started = Date.now();
      const loading = t.load(large, { connectionString: proxy.url, copyStallMs: 1_000 });
      loading.catch(() => undefined);
      await waitFor(() => copying(t.db), 30_000);
      proxy.freeze();
      await rejectsWith(loading, {
        code: "db_error",
        message:
          /^loading sales failed: the server took none of the rows sent for \d+s \(it, or the network to it, stopped answering\); nothing written: check the server and load again$/,
      });
      expect((Date.now() - started) / 1000).to.be.lessThan(FAR_BELOW_FOREVER);
    } finally {
      await proxy.close();
    }
    // The relay's connections are gone with it: the server rolls the load back.
    await waitFor(async () => !(await copying(t.db)), 10_000);
    expect(await t.rows()).to.deep.equal(before);
  });
});
