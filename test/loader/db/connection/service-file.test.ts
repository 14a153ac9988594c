import { expect } from "chai";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseConnectionString, secretsOf } from "../../../../loader/db/connection/connection-string";
import { throwsWith } from "../../../support/errors";
import { scratchFiles } from "../../../support/files";

describe("connection services (pg_service.conf), as libpq reads them", () => {
  const files = scratchFiles();
  let made = 0;
  /** An environment whose user service file holds `user`, and its system one (PGSYSCONFDIR) `system`. */
  const env = async (user: string | null, system: string | null, extra: NodeJS.ProcessEnv = {}) => {
    const dir = join(files().dir, `services-${++made}`);
    await mkdir(dir);
    if (user !== null) await writeFile(join(dir, "user.conf"), user);
    if (system !== null) await writeFile(join(dir, "pg_service.conf"), system);
    return { PGSERVICEFILE: join(dir, "user.conf"), PGSYSCONFDIR: dir, ...extra };
  };
  const SALES =
    "# the loader's\n[sales]\nhost=db.internal\nport=6432\n  dbname=sales_db  \nuser=loader\npassword=s3cret pw\n";

  it("takes host, port, database, user and password from the service named by service=", async () => {
    const config = parseConnectionString("service=sales", await env(SALES, null));
    expect(config).to.include({
      host: "db.internal",
      port: 6432,
      database: "sales_db",
      user: "loader",
      password: "s3cret pw",
    });
  });

  it("in a URL (?service=), and from PGSERVICE when the string names none; the string's own settings win", async () => {
    const vars = await env(SALES, null, { PGSERVICE: "sales" });
    expect(parseConnectionString("postgresql:///?service=sales&port=7000", vars)).to.include({
      host: "db.internal",
      port: 7000,
    });
    expect(parseConnectionString("dbname=other", vars)).to.include({
      host: "db.internal",
      database: "other",
    });
  });

  it("reads the system file (PGSYSCONFDIR) only when the user's file does not define the service", async () => {
    const system = "[sales]\nhost=system.host\n[other]\nhost=other.host\n";
    expect(parseConnectionString("service=sales", await env(SALES, system))).to.include({
      host: "db.internal",
    });
    expect(parseConnectionString("service=other", await env(SALES, system))).to.include({
      host: "other.host",
    });
    expect(parseConnectionString("service=sales", await env(null, system))).to.include({
      host: "system.host",
    });
  });

  it("reads the first section of that name, to the next section; the first of a repeated key", async () => {
    const text = "[sales]\nhost=first\nhost=second\n[next]\nport=1\n[sales]\nport=2\n";
    const config = parseConnectionString("service=sales", await env(text, null));
    expect(config).to.include({ host: "first" });
    expect(config.port).to.equal(undefined);
  });

  it("a service defined nowhere is a usage error naming where it looked", async () => {
    const vars = await env(SALES, null);
    throwsWith(() => parseConnectionString("service=nope", vars), {
      code: "usage",
      message: `definition of service "nope" not found (looked in ${vars.PGSERVICEFILE} and ${vars.PGSYSCONFDIR}/pg_service.conf)`,
    });
  });

  const syntaxErrors: Record<string, [text: string, reason: string]> = {
    "a line that is not key=value": ["[sales]\nhost\n", "a line of the service is not key=value"],
    "a nested service": ["[sales]\nservice=other\n", "nested service specifications are not supported"],
    "a key sales-db does not support": [
      "[sales]\ntarget_session_attrs=any\n",
      'unsupported parameter "target_session_attrs"',
    ],
    "spaces around =": ["[sales]\nhost = x\n", 'unsupported parameter "host "'],
  };
  for (const [what, [text, reason]] of Object.entries(syntaxErrors)) {
    it(`refuses ${what}, naming the file and the line`, async () => {
      const vars = await env(text, null);
      throwsWith(() => parseConnectionString("service=sales", vars), {
        code: "usage",
        message: `syntax error in service file "${vars.PGSERVICEFILE}", line 2: ${reason}`,
      });
    });
  }

  it("the service's password is a secret to redact, from service= and from PGSERVICE alone", async () => {
    expect(secretsOf("service=sales", await env(SALES, null))).to.include("s3cret pw");
    expect(secretsOf("", await env(SALES, null, { PGSERVICE: "sales" }))).to.include("s3cret pw");
  });
});
