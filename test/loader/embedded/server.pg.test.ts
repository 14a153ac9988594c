import { expect } from "chai";
import { chmod, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../../../loader/embedded/server";
import { withClient } from "../../support/postgres";

/** Runs `work` with TMPDIR set to a fresh folder of mode `mode`, then restores TMPDIR and removes the folder. */
async function inTmpdir(mode: number, work: (temp: string) => Promise<void>): Promise<void> {
  const temp = await mkdtemp(join(tmpdir(), "sales-db-embedded-test-"));
  await chmod(temp, mode);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = temp;
  try {
    await work(temp);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(temp, { recursive: true, force: true });
  }
}

/** The server answers a query. */
async function answers(connectionString: string): Promise<void> {
  const result = await withClient(connectionString, (client) => client.query("SELECT 1 AS one"));
  expect(result.rows).to.deep.equal([{ one: 1 }]);
}

describe("embedded PostgreSQL", () => {
  it("keeps everything in a private folder while it runs and leaves nothing behind", async function () {
    this.timeout(120_000);
    await inTmpdir(0o755, async (temp) => {
      const server = await startEmbeddedPostgres({ password: "private-pw-1" });
      try {
        expect((await stat(server.directory)).mode & 0o777).to.equal(0o700);
        expect(await readdir(temp)).to.deep.equal([server.directory.slice(temp.length + 1)]);
        // No password file survives initdb.
        expect(await readdir(server.directory)).to.not.include("pwfile");
        await answers(server.connectionString);
      } finally {
        await server.stop();
      }
      expect(await readdir(temp)).to.deep.equal([]);
    });
  });

  it("starts from a private (0700) TMPDIR too: root's own, or a checkout's inside a 0700 folder", async function () {
    this.timeout(120_000);
    await inTmpdir(0o700, async () => {
      const server = await startEmbeddedPostgres();
      try {
        await answers(server.connectionString);
      } finally {
        await server.stop();
      }
    });
  });
});
