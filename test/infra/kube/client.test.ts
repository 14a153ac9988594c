import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLIENT_BUNDLE, compileBundle, kubernetesClient } from "../../../infra/kube/client";
import { projectRoot } from "../../../loader/project";
import { scratch } from "../../support/files";

const BUNDLE = join(projectRoot(), CLIENT_BUNDLE);
const CLIENT_MODULE = join(projectRoot(), "dist/infra/kube/client.js");

describe("the Kubernetes client bundle (npm run build)", () => {
  it("is built, with a code cache that plain node accepts (as the dynamic resources' host runs)", () => {
    expect(existsSync(BUNDLE), `${BUNDLE}: run npm run build`).to.equal(true);
    // A process of its own: this one may have V8 flags set at run time (Pulumi's closure serialization sets
    // --allow-natives-syntax), which change V8's flag hash, and V8 then rejects any code cache.
    const script = `process.stdout.write(String(require(${JSON.stringify(CLIENT_MODULE)}).compileBundle(${JSON.stringify(BUNDLE)}).cacheAccepted))`;
    const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 30_000 });
    expect(child.stdout, child.stderr).to.equal("true");
  });

  it("is compiled from its source when V8 rejects the cache (another Node), to the same exports", async () => {
    const dir = await scratch();
    try {
      const foreign = await dir.write("foreign.v8-cache", randomBytes(4096));
      const fromSource = compileBundle(BUNDLE, foreign);
      expect(fromSource.cacheAccepted).to.equal(false);
      const exports = Object.keys(fromSource.run() as object);
      expect(exports).to.deep.equal(Object.keys(await kubernetesClient()));
    } finally {
      await dir.cleanup();
    }
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
