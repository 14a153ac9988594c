import { expect } from "chai";
import { find, runProgram } from "../../support/pulumi";
import { runSerialized } from "../../support/provider-process";

const ROLE_PASSWORD = "pulumi-nodejs:dynamic/postgres:RolePassword";
const PREFLIGHT = "pulumi-nodejs:dynamic/postgres:Preflight";

// The providers as the engine stores them, run in a fresh Node process: they delegate to the compiled modules.
describe("Preflight and RolePassword serialized providers (fresh Node process)", () => {
  let sources: Record<string, string>;
  let preflightInputs: Record<string, unknown>;
  before(async () => {
    const { resources } = await runProgram("dev", { "sales-db:dbPassword": "not-in-any-provider-source" });
    sources = Object.fromEntries(
      [ROLE_PASSWORD, PREFLIGHT].map((type) => [type, find(resources, type).inputs.__provider as string]),
    );
    const { __provider: _source, ...inputs } = find(resources, PREFLIGHT).inputs;
    preflightInputs = inputs;
  });

  it("capture nothing large and no password", () => {
    for (const source of Object.values(sources)) {
      expect(source.length).to.be.lessThan(5_000);
      expect(source).to.not.contain("not-in-any-provider-source");
    }
  });

  it("RolePassword's check says a changed password rotates", async () => {
    const target = { mode: "direct", host: "127.0.0.1", port: 1 };
    const access = { user: "sales", database: "sales_db", target, waitTimeoutSeconds: 1 };
    const { results, error } = await runSerialized(sources[ROLE_PASSWORD]!, [
      {
        method: "check",
        args: [
          { ...access, password: "old" },
          { ...access, password: "new" },
        ],
      },
      { method: "diff", args: ["id", { ...access, password: "new" }, { ...access, password: "new" }] },
    ]);
    expect(error).to.equal(undefined);
    const [checked, diff] = results as [{ inputs: { rotates: boolean } }, { changes: boolean }];
    expect(checked.inputs.rotates).to.equal(true);
    expect(diff.changes).to.equal(false);
  });

  it("Preflight's check takes the settings of the last up, and its diff finds nothing to do", async () => {
    const olds = { ...preflightInputs, volumePlan: "" };
    const { results, error } = await runSerialized(sources[PREFLIGHT]!, [
      { method: "check", args: [olds, preflightInputs] },
      { method: "diff", args: ["id", olds, { $result: 0, path: ["inputs"] }] },
    ]);
    expect(error).to.equal(undefined);
    const [checked, diff] = results as [{ failures: unknown[] }, { changes: boolean }];
    expect(checked.failures).to.deep.equal([]);
    expect(diff.changes).to.equal(false);
  });
});
