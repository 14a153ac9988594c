import { expect } from "chai";
import { freePort } from "../../../loader/embedded/server";
import { SAMPLE_RULES, scratchFiles } from "../../support/files";
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
