import { expect } from "chai";
import { ADDONS_PROGRAM, find, runProgram } from "../support/pulumi";

const GUARD = "pulumi-nodejs:dynamic/addons:ClusterGuard";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

describe("Pulumi program (mocks): the cluster add-ons", () => {
  it("makes the cluster guard depend on every object of the operator's manifest, so that destroy deletes it first", async () => {
    const { resources } = await runProgram("cluster", {}, {}, ADDONS_PROGRAM);
    const manifest = resources.filter(
      (r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:yaml:ConfigGroup",
    );
    expect(manifest.length).to.be.greaterThan(10);
    expect(manifest.map((r) => r.type)).to.include(
      "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
    );
    const guard = find(resources, GUARD);
    for (const object of manifest) expect(guard.dependsOn, object.name).to.include(object.name);
  });

  it("never lets kubelet pull the operator's image on every start, and reports the pinned version", async () => {
    const { resources, exports } = await runProgram(
      "cluster",
      { "sales-db-addons:operatorImagePullPolicy": "Never" },
      {},
      ADDONS_PROGRAM,
    );
    const spec = find(resources, DEPLOYMENT).inputs.spec as {
      template: { spec: { containers: { imagePullPolicy: string }[] } };
    };
    expect(spec.template.spec.containers.map((c) => c.imagePullPolicy)).to.deep.equal(["Never"]);
    expect(exports.operatorVersion).to.equal("CloudNativePG 1.28.0");
  });
});
