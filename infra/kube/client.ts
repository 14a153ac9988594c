// The Kubernetes client library, loaded from the one-file bundle `npm run build` makes of it, with its V8 code
// cache (scripts/bundle-kubernetes-client.mjs): about 0.06 s to load, against 0.4 s for the package's ~2,600 ES
// modules.
import { existsSync, readFileSync } from "node:fs";
import { createRequire, wrap } from "node:module";
import { dirname, join } from "node:path";
import { Script } from "node:vm";
import { projectRoot } from "../../loader/project";

type ClientPackage = typeof import("@kubernetes/client-node", { with: { "resolution-mode": "import" } });
type ClientUtil = typeof import("@kubernetes/client-node/dist/util.js", {
  with: { "resolution-mode": "import" },
});
/** The package's exports, and its parser of quantities (`10Gi`), which its root does not export. */
export type K8s = ClientPackage & Pick<ClientUtil, "quantityToScalar">;

/** Relative to the project root. */
export const CLIENT_BUNDLE = "dist/vendor/kubernetes-client.cjs";

let loaded: Promise<K8s> | undefined;

/** The client library: the bundle once built, else (sources run before any build) the package itself. */
export function kubernetesClient(): Promise<K8s> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<K8s> {
  const bundle = join(projectRoot(), CLIENT_BUNDLE);
  if (existsSync(bundle)) return compileBundle(bundle).run() as K8s;
  const [k8s, util] = await Promise.all([
    import("@kubernetes/client-node"),
    import("@kubernetes/client-node/dist/util.js"),
  ]);
  return { ...k8s, quantityToScalar: util.quantityToScalar };
}

/** Where the build writes the bundle's V8 code cache: beside it, `<name>.v8-cache`. */
export function codeCacheOf(bundle: string): string {
  return bundle.replace(/\.cjs$/, ".v8-cache");
}

/**
 * The bundle compiled as Node compiles a CommonJS module, from its code cache when this V8 accepts it: one of
 * another Node version, or of a process with other V8 flags, is rejected, and the source is compiled. `run`
 * evaluates it and returns its exports (each call evaluates it again: `kubernetesClient` calls it once).
 */
export function compileBundle(
  file: string,
  cacheFile = codeCacheOf(file),
): { script: Script; cacheAccepted: boolean; run(): unknown } {
  const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
  const script = new Script(wrap(readFileSync(file, "utf8")), { filename: file, cachedData });
  return {
    script,
    cacheAccepted: cachedData !== undefined && !script.cachedDataRejected,
    run() {
      const module = { exports: {} };
      const evaluate = script.runInThisContext() as (...args: unknown[]) => void;
      evaluate(module.exports, createRequire(file), module, file, dirname(file));
      return module.exports;
    },
  };
}
