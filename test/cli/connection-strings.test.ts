import { expect } from "chai";
import { freePort } from "../../loader/embedded/server";
import { cli, expectOneLineError, loadSample, validateArgs } from "../support/cli";
import { SAMPLE_CSV, SAMPLE_RULES, scratchFiles } from "../support/files";

describe("sales-db load: connection strings, without a server", () => {
  const files = scratchFiles();

  it("an unreachable server fails after the wait timeout, saying where it tried, without the password", async () => {
    const port = await freePort();
    const run = await cli(loadSample(`postgres://u:secret-pw@127.0.0.1:${port}/db`, "--wait-timeout", "1"));
    expectOneLineError(
      run,
      1,
      new RegExp(
        `could not connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/db within \\d+\\.\\ds .*ECONNREFUSED`,
      ),
    );
    expect(run.stderr).to.not.contain("secret-pw");
  });

  it("a malformed database URL is a usage error that does not echo the password", async () => {
    const run = await cli(loadSample("postgres://u:pa#ss@[::1/db"));
    expectOneLineError(
      run,
      2,
      /^sales-db: invalid database URL: it is not a valid URL; expected postgresql:\/\/user:password@host:port\/database/,
    );
    expect(run.stderr).to.not.contain("pa#ss");
  });

  it("an empty DATABASE_URL is a missing one, not a host", async () => {
    const run = await cli(["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES], { DATABASE_URL: " " });
    expectOneLineError(run, 2, /^sales-db: missing --database-url \(or a non-empty DATABASE_URL\)/);
  });

  it("redacts the password from the warnings of rejected rows that hold it, across many log chunks", async () => {
    const secret = "Sw0rdf1sh-9x";
    const rows = Array.from({ length: 3000 }, (_, i) => `Bad ${secret} ${i},1,1`).join("\n");
    const csv = await files().write("leaky.csv", `product,price,quantity\n${rows}\nHalal Tea,10,1\n`);
    const run = await cli(validateArgs(csv), { DATABASE_URL: `postgres://u:${secret}@127.0.0.1:1/db` });
    expect(run.code).to.equal(0);
    expect(
      run.stderr.match(
        /WARNING - Invalid sale: line \d+ \[product_prefix, min_price\]: product="Bad \*\*\* /g,
      ),
    ).to.have.length(3000);
    expect(run.stderr + run.stdout).to.not.contain(secret);
  });

  it("never prints the password, whatever form the connection string takes, at -v", async function () {
    this.timeout(120_000);
    const secret = "Sw0rdf1sh-9x";
    const port = await freePort();
    const forms = [
      `postgress://u:${secret}@127.0.0.1:${port}/db`,
      ` postgres://u:${secret}@127.0.0.1:${port}/db`,
      `postgres://u:${secret}@[::1/db`,
      `postgres://u:${encodeURIComponent(secret)}@127.0.0.1:${port}/db?sslmode=require`,
      `postgresql://u:${secret}@127.0.0.1:${port}/db?bogus=1`,
      `host=127.0.0.1 port=${port} user=u password=${secret}`,
      `host=127.0.0.1 port=${port} password='${secret}' dbname=x`,
      `host=127.0.0.1 password = '${secret}`,
      `${secret} host=127.0.0.1`,
      `host=127.0.0.1 port=${port} ${secret}=1`,
      secret,
      `user=u password=${secret} bogus=${secret}`,
    ];
    for (const form of forms) {
      for (const via of ["flag", "env"] as const) {
        const args = ["load", "--csv", SAMPLE_CSV, "--rules", SAMPLE_RULES, "-v", "--wait-timeout", "0.5"];
        const run =
          via === "flag"
            ? await cli([...args, "--database-url", form])
            : await cli(args, { DATABASE_URL: form });
        expect(run.code, `${via}: ${form}`).to.be.oneOf([1, 2]);
        expect(run.stdout + run.stderr, `${via}: ${form}`).to.not.contain(secret);
        expect(run.stderr, `${via}: ${form}`).to.not.match(/^\s+at /m);
      }
    }
  });
});
