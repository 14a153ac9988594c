// The Kubernetes client library, loaded from the one-file bundle `npm run build` makes of it
// (scripts/bundle-kubernetes-client.mjs): about 0.12 s to load, against 0.42 s for the package's ~2,600 ES modules.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../loader/project";

type ClientPackage = typeof import("@kubernetes/client-node", { with: { "resolution-mode": "import" } });
type ClientUtil = typeof import("@kubernetes/client-node/dist/util.js", {
  with: { "resolution-mode": "import" },
});
/** The package's exports, and its parser of quantities (`10Gi`), which its root does not export. */
export type K8s = ClientPackage & Pick<ClientUtil, "quantityToScalar">;

/** Relative to the project root. */
const BUNDLE = "dist/vendor/kubernetes-client.cjs";

/** The client library: the bundle once built, else (sources run before any build) the package itself. */
export async function kubernetesClient(): Promise<K8s> {
  const bundle = join(projectRoot(), BUNDLE);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (existsSync(bundle)) return require(bundle) as K8s;
  const [k8s, util] = await Promise.all([
    import("@kubernetes/client-node"),
    import("@kubernetes/client-node/dist/util.js"),
  ]);
  return { ...k8s, quantityToScalar: util.quantityToScalar };
}
