import { expect } from "chai";
import { chmod, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../../loader/embedded";
import { withClient } from "../support/postgres";

describe("embedded PostgreSQL", () => {
  it("keeps everything in a private folder while it runs and leaves nothing behind", async function () {
    this.timeout(120_000);
    const temp = await mkdtemp(join(tmpdir(), "sales-db-embedded-test-"));
    await chmod(temp, 0o755);
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      const server = await startEmbeddedPostgres({ password: "private-pw-1" });
      try {
        expect((await stat(server.directory)).mode & 0o777).to.equal(0o700);
        expect(await readdir(temp)).to.deep.equal([server.directory.slice(temp.length + 1)]);
        // No password file survives initdb.
        expect(await readdir(server.directory)).to.not.include("pwfile");
        const rows = await withClient(server.connectionString, (client) => client.query("SELECT 1 AS one"));
        expect(rows.rows).to.deep.equal([{ one: 1 }]);
      } finally {
        await server.stop();
      }
      expect(await readdir(temp)).to.deep.equal([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      await rm(temp, { recursive: true, force: true });
    }
  });

  it("starts from a private TMPDIR too (root's own, or a checkout's inside a 0700 folder)", async function () {
    this.timeout(120_000);
    const temp = await mkdtemp(join(tmpdir(), "sales-db-private-test-")); // 0700
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      const server = await startEmbeddedPostgres();
      try {
        const rows = await withClient(server.connectionString, (client) => client.query("SELECT 1 AS one"));
        expect(rows.rows).to.deep.equal([{ one: 1 }]);
      } finally {
        await server.stop();
      }
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      await rm(temp, { recursive: true, force: true });
    }
  });
});
