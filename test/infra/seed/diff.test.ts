import { expect } from "chai";
import { checkSeed, diffSeed, updateSeed } from "../../../infra/seed/provider";
import { scratchFiles } from "../../support/files";
import type { SeedInputs, SeedOutputs, SeedTarget } from "../../../infra/seed/types";

// One row per input of the seed: does a change of it alone make `pulumi up` update the seed, and does that update
// load rows? A row that regresses (a change no longer noticed, or a load for nothing) fails here, without a
// database: a settings-only update never connects (the target below answers nowhere).

const TARGET: SeedTarget = {
  mode: "port-forward",
  namespace: "sales-db-dev",
  pod: "postgres-0",
  port: 5432,
  secretName: "postgres-auth",
  secretKey: "postgres-password",
};

const VALIDATION = {
  valid: 3,
  rejected: 3,
  byRule: { required_fields: 1 },
  rowsSha256: "a".repeat(64),
  columns: '{"price":"real","quantity":"integer"}',
  rejects: [{ line: 5, rules: ["required_fields" as const] }],
};

const INPUTS: SeedInputs = {
  csv: "data/sales.csv",
  rules: "data/config.yaml",
  table: "sales",
  database: "sales_db",
  user: "sales",
  password: "old-password",
  target: TARGET,
  waitTimeoutSeconds: 120,
  keepTableOnDelete: false,
  sourceHash: "h1",
  validation: VALIDATION,
  rowCount: 3,
};

/** What the state holds after a create of INPUTS. */
const { password: _password, ...recorded } = INPUTS;
const OUTPUTS: SeedOutputs = { ...recorded, validation: VALIDATION, rowCount: 3, owner: "token-1" };

const withTarget = (change: Partial<Record<string, unknown>>): Partial<SeedInputs> => ({
  target: { ...TARGET, ...change } as SeedTarget,
});
const withValidation = (change: Partial<typeof VALIDATION>): Partial<SeedInputs> => ({
  validation: { ...VALIDATION, ...change },
});

/** `update`: the change makes `up` write rows. `settings`: an update of the outputs only. `none`: no change. */
type Expected = "load" | "settings" | "none";

const ROWS: readonly [string, Partial<SeedInputs>, Expected][] = [
  ["the user", { user: "other" }, "load"],
  ["the table", { table: "sales_v2" }, "load"],
  ["the schema of the table", { table: "archive.sales" }, "load"],
  ["the database", { database: "other_db" }, "load"],
  ["the namespace", withTarget({ namespace: "sales-db-prod" }), "load"],
  ["the pod (another release name)", withTarget({ pod: "db-0" }), "load"],
  ["the port", withTarget({ port: 5433 }), "load"],
  ["the kubeconfig context (another cluster)", withTarget({ context: "prod-cluster" }), "load"],
  [
    "a direct connection instead of a port-forward",
    { target: { mode: "direct", host: "db", port: 5432 } },
    "load",
  ],
  ["the CSV's valid rows", withValidation({ rowsSha256: "b".repeat(64) }), "load"],
  [
    "the rules' column types",
    withValidation({ columns: '{"price":"numeric","quantity":"integer"}' }),
    "load",
  ],
  ["keeping the table on destroy (a retained volume)", { keepTableOnDelete: true }, "settings"],
  ["the wait timeout", { waitTimeoutSeconds: 300 }, "settings"],
  ["the rejected-share gate", { maxRejectedShare: 0.5 }, "settings"],
  ["the Secret the password is read from", withTarget({ secretName: "db-auth" }), "settings"],
  ["the Secret's key", withTarget({ secretKey: "password" }), "settings"],
  ["the CSV's bytes, its valid rows the same", { sourceHash: "h2" }, "none"],
  ["the CSV's path, its valid rows the same", { csv: "data/copy-of-sales.csv", sourceHash: "h2" }, "none"],
  ["the rules' path, their effect the same", { rules: "data/rules-copy.yaml", sourceHash: "h2" }, "none"],
  ["the rejected rows only", withValidation({ rejected: 4, rejects: [] }), "none"],
  // Rotating the password is the database's business, not a reason to load: the rows stay.
  ["the password", { password: "new-password" }, "none"],
];

describe("the seed's diff, input by input", () => {
  for (const [what, change, expected] of ROWS) {
    it(`${what}: ${expected === "none" ? "no change" : expected === "load" ? "an update that loads" : "an update of the outputs only"}`, async () => {
      const news: SeedInputs = { ...INPUTS, ...change };
      const diff = diffSeed(OUTPUTS, news);
      expect(diff.replaces, "never a replace: its delete would come after the new create").to.deep.equal([]);
      expect(diff.changes).to.equal(expected !== "none");
      if (expected === "settings") {
        const { outs } = await updateSeed(OUTPUTS, news);
        const { password: _secret, ...kept } = news;
        expect(outs).to.deep.equal({ ...kept, validation: VALIDATION, rowCount: 3, owner: "token-1" });
        expect(outs).to.not.have.property("password");
      }
    });
  }

  it("a refresh that found other rows than the CSV's valid ones (drift) is an update that loads", () => {
    expect(diffSeed({ ...OUTPUTS, rowCount: 2 }, INPUTS).changes).to.equal(true);
  });
});

// `check` reads the CSV and the rules only (no database): what a preview shows, and what it blames.
describe("the seed's check, at preview", () => {
  const files = scratchFiles();
  /** What `check` recorded for INPUTS, but with counts no real validation of the sample gives. */
  const recorded = { ...INPUTS, validation: { ...VALIDATION, valid: 999 } };

  it("says a first load is one, and joins the reasons of a later load", async () => {
    const first = (await checkSeed({}, INPUTS)).inputs;
    expect(first.loadReason).to.equal("first load");
    const before = {
      ...first,
      user: "before",
      validation: { ...first.validation!, rowsSha256: "0".repeat(64) },
    };
    const { inputs } = await checkSeed(before, { ...INPUTS, sourceHash: "h2" }); // validated again
    expect(inputs.loadReason).to.equal("user before → sales; rows sha256 changed");
  });

  it("reuses the recorded validation only for the same files and hash", async () => {
    expect((await checkSeed(recorded, INPUTS)).inputs.validation?.valid).to.equal(999);
    const copy = await files().write("copy.csv", "product,price,quantity\nHalal Tea,10,1\n");
    for (const change of [{ sourceHash: "h2" }, { csv: copy }, { rules: "data/../data/config.yaml" }]) {
      const { inputs } = await checkSeed(recorded, { ...INPUTS, ...change });
      expect(inputs.validation?.valid, JSON.stringify(change)).to.not.equal(999);
    }
  });

  it("blames a broken rules file on rules, and a broken CSV on csv", async () => {
    const badRules = await files().write("bad.yaml", "min_price: [");
    const missingRules = `${files().dir}/missing.yaml`;
    const badCsv = await files().write("bad.csv", "product,price\nHalal Tea,10\n");
    const property = async (change: Partial<SeedInputs>) =>
      (await checkSeed({}, { ...INPUTS, ...change })).failures.map((failure) => failure.property);
    expect(await property({ rules: badRules })).to.deep.equal(["rules"]);
    expect(await property({ rules: missingRules })).to.deep.equal(["rules"]);
    expect(await property({ csv: badCsv })).to.deep.equal(["csv"]);
  });

  it("is no drift when the state predates rowCount (older inputs recorded none)", () => {
    const { rowCount: _count, ...older } = OUTPUTS;
    expect(diffSeed(older as SeedOutputs, { ...INPUTS, rowCount: 5 }).changes).to.equal(false);
  });
});
