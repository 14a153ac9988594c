import { expect } from "chai";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { providerCodeFiles, requireGraph, sourceHash } from "../../../infra/seed/provider-code";
import { projectRoot } from "../../../loader/project";
import { scratch } from "../../support/files";

describe("seed provider code hash", () => {
  it("covers the provider module and what it requires (loaded on first use too), not the CLI, the demo or the program", () => {
    const root = projectRoot();
    const files = providerCodeFiles("dist/infra/seed/provider.js").map((file) => file.slice(root.length + 1));
    expect(files).to.include.members([
      "dist/infra/seed/provider.js",
      "dist/infra/kube/tunnel.js",
      "dist/infra/kube/api.js",
      "dist/infra/kube/port-forward-connection.js",
      "dist/infra/seed/project-path.js",
      // Required inside the functions that use them, so that a no-op check loads none of them.
      "dist/loader/db/load.js",
      "dist/loader/rules/rules-file.js",
      "dist/loader/copy/sales-stream.js",
      "dist/loader/errors.js",
    ]);
    for (const other of ["cli/main", "cli/demo"]) expect(files).to.not.include(`dist/loader/${other}.js`);
    for (const other of ["index", "stack", "config", "seed/resource", "postgres/chart"]) {
      expect(files).to.not.include(`dist/infra/${other}.js`);
    }
  });

  it("refuses to run when a source in any subfolder is newer than its build, or has none", async () => {
    const dir = await scratch();
    try {
      const put = (path: string, text: string, mtime: Date) => {
        mkdirSync(join(dir.dir, path, ".."), { recursive: true });
        writeFileSync(join(dir.dir, path), text);
        utimesSync(join(dir.dir, path), mtime, mtime);
      };
      const old = new Date(Date.now() - 60_000);
      const now = new Date();
      put("infra/seed/provider.ts", "", old);
      put("dist/infra/seed/provider.js", "", now);
      put("loader/db/load.ts", "", old);
      put("dist/loader/db/load.js", "", now);
      expect(providerCodeFiles("dist/infra/seed/provider.js", dir.dir)).to.have.length(1);
      put("loader/db/load.ts", "// edited", new Date(Date.now() + 60_000));
      expect(() => providerCodeFiles("dist/infra/seed/provider.js", dir.dir)).to.throw(
        /dist\/loader\/db\/load\.js is missing or older than loader\/db\/load\.ts/,
      );
      put("loader/db/load.ts", "", old);
      put("loader/copy/new.ts", "", old);
      expect(() => providerCodeFiles("dist/infra/seed/provider.js", dir.dir)).to.throw(
        /copy\/new\.js is missing/,
      );
    } finally {
      await dir.cleanup();
    }
  });

  it("follows relative requires transitively through cycles, and changes only when a reached file does", async () => {
    const dir = await scratch();
    try {
      const put = (path: string, text: string) => {
        mkdirSync(join(dir.dir, path, ".."), { recursive: true });
        writeFileSync(join(dir.dir, path), text);
      };
      put("infra/provider.js", 'require("./a"); require("../loader/b"); require("pg");');
      put("infra/a.js", 'require("./provider");');
      put("loader/b.js", 'require("./c/index");');
      put("loader/c/index.js", "");
      put("loader/cli.js", 'require("./b");');
      const graph = requireGraph(join(dir.dir, "infra/provider.js"));
      expect(graph.map((file) => file.slice(dir.dir.length + 1))).to.deep.equal([
        "infra/a.js",
        "infra/provider.js",
        "loader/b.js",
        "loader/c/index.js",
      ]);
      const before = await sourceHash(graph);
      put("loader/cli.js", 'require("./b"); // edited');
      expect(await sourceHash(requireGraph(join(dir.dir, "infra/provider.js")))).to.equal(before);
      put("loader/c/index.js", "// edited");
      expect(await sourceHash(requireGraph(join(dir.dir, "infra/provider.js")))).to.not.equal(before);
    } finally {
      await dir.cleanup();
    }
  });
});
