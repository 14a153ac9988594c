import { expect } from "chai";
import { freePort } from "../../../loader/embedded/server";
import { SAMPLE_RULES, scratchFiles, validRows } from "../../support/files";
import { runMain } from "../../support/in-process";

// Every way a user can give the password (README, "The sales-db command"), against every output the command has:
// the report on stdout (text and --json), the log on stderr (rejected rows' warnings, -v debug lines) and the
// error line. Each secret is also a value of a rejected row, so that each output really prints it but for the
// redaction; a source left out of redaction fails its row of this table, and so does a secret redacted only in
// part (one password that extends another).

/** Needs percent-encoding in a URL, so the typed and the decoded forms differ. */
const SECRET = "S3cr@t:pw/1";
const ENCODED = encodeURIComponent(SECRET);

interface Source {
  readonly name: string;
  /** The connection options of the command line. */
  readonly argv: (port: number) => string[];
  readonly env?: (port: number) => NodeJS.ProcessEnv;
  /** Every form of the password the user typed or the connection uses. */
  readonly forms: readonly string[];
}

const url = (port: number, password = ENCODED) => `postgres://u:${password}@127.0.0.1:${port}/db`;

const SOURCES: readonly Source[] = [
  {
    name: "a URL in --database-url",
    argv: (port) => ["--database-url", url(port)],
    forms: [SECRET, ENCODED],
  },
  {
    name: "a URL in --database-url=…",
    argv: (port) => [`--database-url=${url(port)}`],
    forms: [SECRET, ENCODED],
  },
  {
    name: "a URL in DATABASE_URL",
    argv: () => [],
    env: (port) => ({ DATABASE_URL: url(port) }),
    forms: [SECRET, ENCODED],
  },
  {
    name: "key=value, unquoted",
    argv: (port) => ["--database-url", `host=127.0.0.1 port=${port} user=u password=${SECRET}`],
    forms: [SECRET],
  },
  {
    name: "key=value, quoted with a space",
    argv: (port) => ["--database-url", `host=127.0.0.1 port=${port} password='${SECRET} x' dbname=db`],
    forms: [`${SECRET} x`],
  },
  {
    name: "PGPASSWORD, beside a URL without a password",
    argv: (port) => ["--database-url", `postgres://u@127.0.0.1:${port}/db`],
    env: () => ({ PGPASSWORD: SECRET }),
    forms: [SECRET],
  },
  {
    name: "a password of three characters, the shortest redacted",
    argv: (port) => ["--database-url", url(port, "p9x")],
    forms: ["p9x"],
  },
  {
    name: "PGPASSWORD extending the URL's password",
    argv: (port) => ["--database-url", url(port, "Sw0rdf1sh")],
    env: () => ({ PGPASSWORD: "Sw0rdf1sh-more" }),
    forms: ["Sw0rdf1sh", "Sw0rdf1sh-more"],
  },
  {
    name: "--database-url extending DATABASE_URL's password",
    argv: (port) => ["--database-url", url(port, "Sw0rdf1sh-more")],
    env: (port) => ({ DATABASE_URL: url(port, "Sw0rdf1sh") }),
    forms: ["Sw0rdf1sh", "Sw0rdf1sh-more"],
  },
  {
    name: "a malformed URL",
    argv: () => ["--database-url", `postgres://u:${SECRET}@[::1/db`],
    forms: [SECRET],
  },
  {
    name: "a malformed key=value string (an unterminated quote)",
    argv: (port) => ["--database-url", `host=127.0.0.1 port=${port} password = '${SECRET}`],
    forms: [SECRET],
  },
];

describe("the password never reaches an output, whatever its source", () => {
  const files = scratchFiles();
  let port: number;
  before(async () => (port = await freePort())); // nothing listens there: a load fails to connect

  /** A CSV whose rejected rows (no Halal prefix) hold each form of the secret as their product. */
  const leakyCsv = (forms: readonly string[]) =>
    files().write(
      `leaky-${forms.map((form) => form.length).join("-")}.csv`,
      ["product,price,quantity", ...forms.map((form) => `Bad ${form},10,1`), "Halal Tea,10,1", ""].join("\n"),
    );

  const expectHidden = (text: string, source: Source, output: string) => {
    for (const form of source.forms) expect(text, `${source.name}, ${output}`).to.not.contain(form);
  };

  for (const source of SOURCES) {
    describe(source.name, () => {
      for (const json of [false, true]) {
        it(`validate${json ? " --json" : ""}: the report on stdout and the warnings on stderr`, async () => {
          const csv = await leakyCsv(source.forms);
          const argv = ["validate", "--csv", csv, "--rules", SAMPLE_RULES, ...source.argv(port)];
          const run = await runMain(json ? [...argv, "--json"] : argv, source.env?.(port));
          expect(run.code, run.stderr).to.equal(0);
          expectHidden(run.stdout, source, "stdout");
          expectHidden(run.stderr, source, "stderr");
          // Each rejected row was printed, with the secret replaced: on stdout and in its warning.
          const redacted = json
            ? (JSON.parse(run.stdout) as { rejects: { values: { product: string } }[] }).rejects.map(
                (reject) => reject.values.product,
              )
            : run.stdout.match(/product="Bad \*\*\*"/g);
          expect(redacted, run.stdout).to.have.length(source.forms.length);
          // The redaction changed the secret and nothing else: each reject is still its own line, whole.
          if (!json) {
            expect(run.stdout.split("\n")).to.include(
              `  line 2 [product_prefix]: product="Bad ***" price="10" quantity="1"`,
            );
          }
          expect(run.stderr.match(/WARNING - Invalid sale: .*product="Bad \*\*\*"/g)).to.have.length(
            source.forms.length,
          );
        });
      }

      it("load -v that cannot connect: the debug lines and the error line", async () => {
        const csv = await leakyCsv(source.forms);
        const run = await runMain(
          [
            "load",
            "--csv",
            csv,
            "--rules",
            SAMPLE_RULES,
            "-v",
            "--wait-timeout",
            "0.3",
            ...source.argv(port),
          ],
          source.env?.(port),
        );
        expect(run.code, run.stderr).to.be.oneOf([1, 2]);
        expect(run.stderr).to.match(/^sales-db: /m);
        expectHidden(run.stdout + run.stderr, source, "load -v");
      });
    });
  }
});

describe("redaction changes the secret and nothing else, whatever the password", () => {
  const files = scratchFiles();
  /** 1,000 valid rows and one rejected row, whose product holds `value`. */
  const csvWith = (value: string) =>
    files().write(`file-${Buffer.from(value).toString("hex")}.csv`, `${validRows(1_000)}Bad ${value},1,1\n`);
  const validate = async (password: string, csv: string, json = true) =>
    runMain(["validate", "--csv", csv, "--rules", SAMPLE_RULES, ...(json ? ["--json"] : [])], {
      PGPASSWORD: password,
    });

  it("a password equal to a count or a JSON literal leaves --json whole and its values as they are", async () => {
    const csv = await csvWith("x");
    for (const password of ["1000", "true", "null", '"valid"', "valid", "rejects"]) {
      const run = await validate(password, csv);
      expect(run.code, run.stderr).to.equal(0);
      const report = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(report, password).to.include({ valid: 1_000, rejected: 1, rejectsOmitted: 0 });
    }
  });

  it("a password equal to a part of the hash or to a rule id leaves them as they are, in text and JSON", async () => {
    const csv = await csvWith("x");
    const plain = JSON.parse(
      (await runMain(["validate", "--csv", csv, "--rules", SAMPLE_RULES, "--json"])).stdout,
    );
    for (const password of [String(plain.sha256).slice(10, 22), "min_price", "product_prefix"]) {
      const json = JSON.parse((await validate(password, csv)).stdout);
      expect(json.sha256, password).to.equal(plain.sha256);
      expect(json.byRule, password).to.deep.equal(plain.byRule);
      const text = (await validate(password, csv, false)).stdout;
      expect(text, password).to.contain(`sha256 of valid rows: ${plain.sha256}`);
      expect(text, password).to.contain("1000 valid, 1 rejected (product_prefix 1, min_price 1)");
    }
  });

  it('a password holding " or \\ is found in the values, and in its escaped form in every output', async () => {
    const password = 'pa"ss\\wd';
    const csv = await files().write(
      "quoted.csv",
      `product,price,quantity\n"Bad ${password.replace(/"/g, '""')}",10,1\n`,
    );
    for (const json of [true, false]) {
      const run = await validate(password, csv, json);
      expect(run.code, run.stderr).to.equal(0);
      for (const form of [password, JSON.stringify(password).slice(1, -1)]) {
        expect(run.stdout + run.stderr, `${json ? "--json" : "text"}: ${form}`).to.not.contain(form);
      }
      if (json) expect(JSON.parse(run.stdout).rejects[0].values.product).to.equal("Bad ***");
      else expect(run.stdout).to.contain('product="Bad ***"');
      expect(run.stderr).to.contain('product="Bad ***"');
    }
  });
});
