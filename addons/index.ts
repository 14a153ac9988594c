// The cluster add-ons: what a Kubernetes cluster needs once, whichever stacks of sales-db use it. Today the
// CloudNativePG operator, for stacks of two or more instances, applied from its vendored release manifest.
import * as yaml from "@pulumi/kubernetes/yaml";
import * as pulumi from "@pulumi/pulumi";
import { delegatingProviderWithDelete } from "../infra/compiled-module";
import type { GuardInputs } from "./cluster-guard";
import { overrideOperator, readVendoredManifest } from "./operator";

const config = new pulumi.Config();
const pullPolicy = config.get("operatorImagePullPolicy") || "IfNotPresent";
if (pullPolicy !== "IfNotPresent" && pullPolicy !== "Never") {
  throw new pulumi.RunError(
    `config ${config.name}:operatorImagePullPolicy must be IfNotPresent or Never, got ${JSON.stringify(pullPolicy)}`,
  );
}
const image = config.get("operatorImage") || undefined;
let vendored;
try {
  vendored = readVendoredManifest();
} catch (error) {
  throw new pulumi.RunError(error instanceof Error ? error.message : String(error));
}
const { facts } = vendored;

const operator = new yaml.ConfigGroup("cnpg-operator", {
  yaml: vendored.yaml,
  transformations: [(object) => overrideOperator(object, facts, { image, pullPolicy })],
});

// Deleted before the operator: its delete refuses while clusters exist. It depends on every object of the
// manifest, not on the ConfigGroup: a dependency on a component orders nothing on destroy (its children are no
// dependencies of ours), and the operator's objects went first, the guard last, in the e2e's first run.
const guardProvider = delegatingProviderWithDelete<GuardInputs, GuardInputs>(
  "dist/addons/cluster-guard.js",
  "clusterGuardProvider",
);
class ClusterGuard extends pulumi.dynamic.Resource {
  constructor(name: string, args: GuardInputs, opts?: pulumi.CustomResourceOptions) {
    super(guardProvider, name, { context: args.context }, opts, "addons", "ClusterGuard");
  }
}
new ClusterGuard(
  "cnpg-cluster-guard",
  { context: new pulumi.Config("kubernetes").get("context") },
  { dependsOn: operator.resources.apply((objects) => Object.values(objects)) },
);

export const operatorVersion = `${facts.name} ${facts.version}`;
export const manifestSha256 = facts.sha256;
