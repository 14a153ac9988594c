// Part of `npm run build`: bundles @kubernetes/client-node and its dependencies into one minified CommonJS file,
// dist/vendor/kubernetes-client.cjs, with a V8 code cache beside it, which infra/kube/client.ts loads. The package
// is about 2,600 ES modules, and loading them takes Node about 0.4 s, on the critical path of every seed through a
// port-forward and of every preflight that reads the cluster; the bundle loads in about 0.12 s, and in about
// 0.06 s with its code cache (docs/decisions.md, "The Kubernetes client is bundled").
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Where provider code looks for the bundle and its cache, and how it compiles them (built by tsc just before).
const { CLIENT_BUNDLE, codeCacheOf, compileBundle } = createRequire(import.meta.url)(
  join(root, "dist/infra/kube/client.js"),
);
const bundle = join(root, CLIENT_BUNDLE);

await build({
  stdin: {
    // The package root, and the quantity parser its root does not export (the preflight reads PVC sizes with it).
    contents:
      'export * from "@kubernetes/client-node";\n' +
      'export { quantityToScalar } from "@kubernetes/client-node/dist/util.js";\n',
    resolveDir: root,
    sourcefile: "kubernetes-client-entry.mjs",
    loader: "js",
  },
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  minify: true,
  // Error classes keep their names (AbortError, TimeoutError), which infra/kube/api.ts tells apart.
  keepNames: true,
  logLevel: "warning",
});

// The code cache: the bundle compiled and run once, as infra/kube/client.ts runs it. A Node whose V8 differs
// rejects it and compiles the source instead.
const { script, run } = compileBundle(bundle);
run();
writeFileSync(codeCacheOf(bundle), script.createCachedData());
