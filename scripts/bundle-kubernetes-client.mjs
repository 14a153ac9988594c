// Part of `npm run build`: bundles @kubernetes/client-node and its dependencies into one minified CommonJS file,
// dist/vendor/kubernetes-client.cjs, which infra/kube/client.ts loads. The package is about 2,600 ES modules, and
// loading them takes Node about 0.42 s, on the critical path of every seed through a port-forward and of every
// preflight that reads the cluster; the bundle loads in about 0.12 s (docs/performance.md, "The Pulumi path").
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

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
  outfile: join(root, "dist/vendor/kubernetes-client.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  minify: true,
  // Error classes keep their names (AbortError, TimeoutError), which infra/kube/api.ts tells apart.
  keepNames: true,
  logLevel: "warning",
});
