import { expect } from "chai";
import { tableName } from "../../../loader/db/table-name";
import { throwsWith } from "../../support/errors";

describe("table names, read as PostgreSQL reads identifiers", () => {
  it("folds an unquoted name to lower case, and keeps a quoted one as written", () => {
    expect(tableName("Sales")).to.deep.include({ schema: null, name: "sales" });
    expect(tableName("Analytics.SALES")).to.deep.include({ schema: "analytics", name: "sales" });
    expect(tableName('"Sales"')).to.deep.include({ schema: null, name: "Sales" });
    expect(tableName('"My Schema"."Sales 2025"')).to.deep.include({
      schema: "My Schema",
      name: "Sales 2025",
    });
    expect(tableName('"a.b"')).to.deep.include({ schema: null, name: "a.b" });
    expect(tableName('"say ""hi"""')).to.deep.include({ name: 'say "hi"' });
    expect(tableName("_x$1")).to.deep.include({ name: "_x$1" });
    expect(tableName("Ventes_Été")).to.deep.include({ name: "ventes_Été" }); // ASCII letters only, as in UTF-8
  });

  it("keeps the name as written, made one printable line, for messages", () => {
    expect(tableName("Sales").display).to.equal("Sales");
    expect(tableName('"a\nb"')).to.deep.include({ name: "a\nb", display: '"a\\u000ab"' });
  });

  for (const bad of [
    "",
    "sales.",
    ".sales",
    "a.b.c",
    '""',
    '"open',
    "1sales",
    "sal es",
    "x".repeat(64),
    '"é' + "x".repeat(62) + '"',
  ]) {
    it(`refuses ${JSON.stringify(bad).slice(0, 40)}`, () => {
      throwsWith(() => tableName(bad), {
        code: "usage",
        message: /^invalid table name ".*": use an identifier/,
      });
    });
  }

  it("accepts 63 bytes, PostgreSQL's limit, which it would otherwise cut short", () => {
    expect(tableName("x".repeat(63)).name).to.have.length(63);
  });

  it("refuses sales-db's names and system schemas after folding", () => {
    for (const name of ["SALES_DB_SEEDS", "Sales_DB_Staging_x", "PG_Catalog.sales", "Information_Schema.t"]) {
      throwsWith(() => tableName(name), { code: "usage", message: /reserved|system schema/ });
    }
    expect(tableName('"PG_x".sales').schema).to.equal("PG_x");
  });

  it("a newline in a name stays one line in every message", () => {
    const error = throwsWith(() => tableName("bad\nname"), { code: "usage" });
    expect(error.message).to.not.match(/[\n\r]/);
    expect(error.message).to.contain("bad\\u000aname");
  });
});
