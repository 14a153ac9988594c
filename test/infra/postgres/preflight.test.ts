import { expect } from "chai";
import { checkPreflight, diffPreflight, type PreflightInputs } from "../../../infra/postgres/preflight";
import { setEnv } from "../../support/env";
import { scratch } from "../../support/files";
import { DEV_SETTINGS } from "./preflight/settings";

const INPUTS: PreflightInputs = DEV_SETTINGS;

describe("preflight provider: check and diff", () => {
  let files: Awaited<ReturnType<typeof scratch>>;
  let restoreKubeconfig: () => void;
  before(async () => {
    files = await scratch();
    // An API server that refuses every connection: a check that reads the cluster fails at once.
    restoreKubeconfig = setEnv(
      "KUBECONFIG",
      await files.write(
        "kubeconfig",
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters: [{name: closed, cluster: {server: 'https://127.0.0.1:1'}}]",
          "users: [{name: someone, user: {token: not-a-token}}]",
          "contexts: [{name: closed, context: {cluster: closed, user: someone}}]",
          "current-context: closed",
        ].join("\n"),
      ),
    );
  });
  after(async () => {
    restoreKubeconfig();
    await files.cleanup();
  });

  it("an unreachable API fails the check in one line naming the API, without its token or a stack trace", async () => {
    const { failures } = await checkPreflight({}, INPUTS);
    expect(failures).to.have.length(1);
    expect(failures[0]!.reason).to.match(/^the Kubernetes API at https:\/\/127\.0\.0\.1:1 refused or failed/);
    expect(failures[0]!.reason).to.not.contain("\n");
    expect(failures[0]!.reason).to.not.contain("not-a-token");
  });

  it("reads the cluster again when a setting changed since the last up", async () => {
    const olds = { ...INPUTS, volumePlan: "" };
    const { failures } = await checkPreflight(olds, { ...INPUTS, storageSize: "2Gi" });
    expect(failures).to.have.length(1);
  });

  it("does not read the cluster for the settings of the last up with nothing left to do", async () => {
    const olds = { ...INPUTS, volumePlan: "" };
    expect(await checkPreflight(olds, { ...INPUTS })).to.deep.equal({
      inputs: { ...INPUTS, volumePlan: "" },
      failures: [],
    });
    // A plan the last up recorded but may not have finished is checked again.
    const pending = await checkPreflight({ ...olds, volumePlan: "grows the volume" }, { ...INPUTS });
    expect(pending.failures).to.have.length(1);
  });

  it("diff: an update when a setting changed or the volume has work; not for the plan's text alone", () => {
    const olds: PreflightInputs = { ...INPUTS, volumePlan: "" };
    expect(diffPreflight(olds, { ...INPUTS, volumePlan: "" }).changes).to.equal(false);
    expect(diffPreflight(olds, { ...INPUTS, volumePlan: "grows the volume" }).changes).to.equal(true);
    expect(diffPreflight(olds, { ...INPUTS, image: "postgres:17.7", volumePlan: "" }).changes).to.equal(true);
    expect(diffPreflight({ ...olds, volumePlan: "grows" }, { ...INPUTS, volumePlan: "" }).changes).to.equal(
      false,
    );
  });
});
