import { expect } from "chai";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLIENT_BUNDLE, compileBundle, kubernetesClient } from "../../../infra/kube/client";
import { projectRoot } from "../../../loader/project";

const BUNDLE = join(projectRoot(), CLIENT_BUNDLE);

describe("the Kubernetes client bundle (npm run build)", () => {
  it("is built, with a code cache that this Node accepts", () => {
    expect(existsSync(BUNDLE), `${BUNDLE}: run npm run build`).to.equal(true);
    expect(compileBundle(BUNDLE).cacheAccepted).to.equal(true);
  });

  it("is what provider code loads, once per process", async () => {
    const first = await kubernetesClient();
    expect(await kubernetesClient()).to.equal(first);
    expect(first.KubeConfig).to.be.a("function");
  });
  it("exports every name of the package, and the package's quantity parser", async () => {
    const bundled = await kubernetesClient();
    const names = Object.keys(await import("@kubernetes/client-node")).filter((name) => name !== "default");
    expect(names.length).to.be.greaterThan(100);
    expect(Object.keys(bundled)).to.include.members(names);
    expect(Number(bundled.quantityToScalar("2Gi"))).to.equal(2 * 1024 ** 3);
  });

  it("keeps the package's names of classes and functions (errors are told apart by them), though minified", async () => {
    const bundled: Record<string, unknown> = { ...(await kubernetesClient()) };
    const named = Object.entries(await import("@kubernetes/client-node")).filter(
      ([, value]) => typeof value === "function",
    );
    expect(named.length).to.be.greaterThan(100);
    for (const [name, value] of named) {
      expect((bundled[name] as { name: string }).name, name).to.equal((value as { name: string }).name);
    }
  });
});
