import { expect } from "chai";
import { find, GENERATED_PASSWORD, runProgram, secretValue } from "../../support/pulumi";
import { runSerialized } from "../../support/provider-process";

describe("GeneratedPassword serialized provider (fresh Node process)", () => {
  let source: string;
  let generatedUnderMocks: string;
  before(async () => {
    const { resources } = await runProgram("dev", {});
    source = find(resources, GENERATED_PASSWORD).inputs.__provider as string;
    const stored = secretValue(find(resources, "kubernetes:core/v1:Secret").inputs.stringData);
    generatedUnderMocks = (stored as Record<string, string>)["postgres-password"] ?? "";
  });

  it("creates a different 192-bit password each time, and nothing else in its outputs", async () => {
    const { results, error } = await runSerialized(source, [
      { method: "create", args: [{}] },
      { method: "create", args: [{}] },
    ]);
    expect(error).to.equal(undefined);
    const [first, second] = results as { id: string; outs: { result: string } }[];
    expect(first!.outs.result).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(Buffer.from(first!.outs.result, "base64url")).to.have.length(24);
    expect(second!.outs.result).to.not.equal(first!.outs.result);
    expect(Object.keys(first!.outs)).to.deep.equal(["result"]);
    expect(first!.id).to.be.a("string").and.not.equal("");
  });

  it("never regenerates on its own: the same generation is no change, and update keeps the password", async () => {
    const { results, error } = await runSerialized(source, [
      { method: "create", args: [{ generation: 0 }] }, // 0
      { method: "diff", args: ["id", { $result: 0, path: ["outs"] }, { generation: 0 }] }, // 1
      { method: "update", args: ["id", { $result: 0, path: ["outs"] }, { generation: 0 }] }, // 2
      { method: "diff", args: ["id", { generation: undefined, result: "older" }, { generation: 0 }] }, // 3
    ]);
    expect(error).to.equal(undefined);
    const [created, diff, updated, older] = results as Record<string, Record<string, unknown>>[];
    expect(diff).to.deep.include({ changes: false });
    expect(updated!.outs).to.deep.equal(created!.outs);
    expect(older, "a state from before generations counts as generation 0").to.deep.include({
      changes: false,
    });
  });

  it("makes a new password when asked for a higher generation", async () => {
    const { results, error } = await runSerialized(source, [
      { method: "create", args: [{ generation: 0 }] }, // 0
      { method: "diff", args: ["id", { $result: 0, path: ["outs"] }, { generation: 1 }] }, // 1
      { method: "update", args: ["id", { $result: 0, path: ["outs"] }, { generation: 1 }] }, // 2
    ]);
    expect(error).to.equal(undefined);
    const [created, diff, updated] = results as { outs: { result: string; generation: number } }[];
    expect(diff).to.deep.include({ changes: true });
    expect(updated!.outs.generation).to.equal(1);
    expect(updated!.outs.result).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(updated!.outs.result).to.not.equal(created!.outs.result);
  });

  it("captures nothing large, and no password: each one is made at create", () => {
    expect(source.length).to.be.lessThan(5_000);
    expect(generatedUnderMocks).to.have.length(32);
    expect(source).to.not.contain(generatedUnderMocks);
  });
});
