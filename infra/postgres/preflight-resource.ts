import * as pulumi from "@pulumi/pulumi";
import { delegatingProvider } from "../compiled-module";
import type { PreflightInputs } from "./preflight";
import type { PreflightSettings } from "./preflight/checks";

/** The compiled provider, relative to the project root (not exported: it is serialized). */
const PROVIDER_MODULE = "dist/infra/postgres/preflight.js";

const provider = delegatingProvider<PreflightInputs, PreflightInputs>(PROVIDER_MODULE, "preflightProvider");

export interface PreflightArgs extends PreflightSettings {
  /** The kubeconfig context. Default: the current one. */
  readonly context?: string;
  /** How long a new image may take to be pulled and to run before the rollout (Helm's timeout). */
  readonly imageCheckTimeoutSeconds: number;
}

/**
 * Checks the cluster before anything of the stack changes (every other resource depends on it): its Kubernetes
 * version, StorageClasses, namespace, RBAC and Pod Security, and the refusals of day two (a volume that would shrink
 * or cannot grow, another PostgreSQL major on an existing data directory). Then tries a new image in a pod of its
 * own, and grows the volume where asked.
 */
export class Preflight extends pulumi.dynamic.Resource {
  /** What `up` does to the volume (set at preview); empty when nothing. */
  declare readonly volumePlan: pulumi.Output<string>;

  constructor(name: string, args: PreflightArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof PreflightInputs, unknown> = {
      namespace: args.namespace,
      createNamespace: args.createNamespace,
      releaseName: args.releaseName,
      storageSize: args.storageSize,
      storageClass: args.storageClass,
      image: args.image,
      minKubernetes: args.minKubernetes,
      instances: args.instances,
      context: args.context,
      imageCheckTimeoutSeconds: args.imageCheckTimeoutSeconds,
      volumePlan: undefined,
    };
    // Type token: pulumi-nodejs:dynamic/postgres:Preflight.
    super(provider, name, inputs, opts, "postgres", "Preflight");
  }
}
