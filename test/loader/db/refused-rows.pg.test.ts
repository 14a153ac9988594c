import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { loadSales } from "../../../loader/db/load";
import { rejectsWith } from "../../support/errors";
import { loadFixture } from "../../support/loading";
import { testServerUrl, withClient } from "../../support/postgres";

/**
 * A row the database refuses is named by its CSV line, however large the file and whatever it is: the line is
 * kept while the rows are encoded, since a FIFO cannot be read twice. A LATIN1 database refuses a `€`.
 */
describe("load: a row the database refuses, named by its CSV line (real PostgreSQL)", () => {
  const t = loadFixture();
  let url = "";
  let latin1 = "";
  beforeEach(async () => {
    latin1 = `${t.db.name}_latin1`;
    await t.db.query(
      `CREATE DATABASE "${latin1}" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
    );
    url = t.db.url.replace(`/${t.db.name}`, `/${latin1}`);
  });
  // On the server's own database: the fixture's database is dropped first.
  afterEach(() =>
    withClient(testServerUrl(), (client) => client.query(`DROP DATABASE IF EXISTS "${latin1}" WITH (FORCE)`)),
  );

  /**
   * Far more than one read (256 KiB) of rows, with rejected rows, blank lines and quoted fields spanning lines
   * between them, then the refused row; its line number.
   */
  function bigCsv(): { text: string; line: number } {
    const lines = ["product,price,quantity"];
    for (let i = 0; i < 40_000; i++) {
      lines.push(`Halal Item ${i},10.50,1`);
      if (i % 97 === 0) lines.push("Rejected,1,1");
      if (i % 501 === 0) lines.push("");
      if (i % 1_003 === 0) lines.push('"Halal Two', 'Lines",10,1');
    }
    lines.push("Halal Euro €,10,1");
    const line = lines.length;
    lines.push("Halal After,10,1");
    return { text: `${lines.join("\n")}\n`, line };
  }

  it("in a regular file larger than one read", async () => {
    const { text, line } = bigCsv();
    const file = await t.files.write("big.csv", text);
    await rejectsWith(loadSales({ connectionString: url, file, rules: t.rules }), {
      code: "db_error",
      line,
      message: new RegExp(`big\\.csv:${line}: the database refused this row: .*LATIN1.*; nothing written$`),
    });
  });

  it("in a FIFO", async () => {
    const { text, line } = bigCsv();
    const file = await t.files.fifo("big-fifo.csv");
    const writing = pipeline(Readable.from([text]), createWriteStream(file)).catch(() => undefined);
    try {
      await rejectsWith(loadSales({ connectionString: url, file, rules: t.rules }), {
        code: "db_error",
        line,
        message: new RegExp(`big-fifo\\.csv:${line}: the database refused this row`),
      });
    } finally {
      await writing;
    }
  });
});
