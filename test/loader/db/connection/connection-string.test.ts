import { expect } from "chai";
import {
  describeTarget,
  parseConnectionString,
  redact,
  secretsOf,
} from "../../../../loader/db/connection/connection-string";
import { throwsWith } from "../../../support/errors";

describe("connection strings", () => {
  it("describes a target without its password", () => {
    expect(describeTarget("postgres://app:hunter2@db.example:6543/sales")).to.equal("db.example:6543/sales");
  });

  it("reads libpq's key=value form, quotes and escapes included, and the URL forms", () => {
    expect(parseConnectionString("host=db port=6543 dbname=sales user=app password='it\\'s x'")).to.include({
      host: "db",
      port: 6543,
      database: "sales",
      user: "app",
    });
    expect(parseConnectionString("password = 'a b\\'c' host=h").password).to.equal("a b'c");
    expect(parseConnectionString("  postgresql://app:p%40ss@db:6543/sales  ")).to.include({
      host: "db",
      port: 6543,
      database: "sales",
      password: "p@ss",
    });
    expect(parseConnectionString("postgres://app@db/sales?sslmode=require").ssl).to.deep.equal({
      rejectUnauthorized: false,
    });
    expect(parseConnectionString("host=db sslmode=disable").ssl).to.equal(false);
  });

  it("refuses what is neither form as a usage error, without quoting it", () => {
    for (const text of [
      "",
      "   ",
      "postgress://u:hunter22@h/db",
      "hunter22",
      "host=h bogus=hunter22",
      "host=h port=x",
    ]) {
      const error = throwsWith(() => parseConnectionString(text), { code: "usage" });
      expect(error.message, text).to.not.contain("hunter22");
    }
  });

  it("finds the password to redact in malformed strings too", () => {
    for (const text of [
      "postgress://u:hunter22@h/db",
      "host=h password='hunter22",
      "host=h password=hunter22 bogus=1",
      "postgres://u:hunter%2022@[::1/db",
    ]) {
      const secrets = secretsOf(text, {});
      expect(redact(`echo ${text}`, secrets), text).to.not.match(/hunter(22|%2022| 22)/);
    }
  });
});
