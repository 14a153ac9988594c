import * as pulumi from "@pulumi/pulumi";
import { delegatingProviderWithDelete } from "../compiled-module";
import type { VolumeReleaseInputs } from "./volume-release";

/** The compiled provider, relative to the project root (not exported: it is serialized). */
const PROVIDER_MODULE = "dist/infra/cnpg/volume-release.js";

const provider = delegatingProviderWithDelete<VolumeReleaseInputs, VolumeReleaseInputs>(
  PROVIDER_MODULE,
  "volumeReleaseProvider",
);

/**
 * Keeps a CloudNativePG cluster's volumes on destroy when the stack retains them: it depends on the Cluster, so
 * destroy deletes it first, and its delete takes the Cluster's ownership off the PVCs (which would have Kubernetes
 * delete them with the Cluster).
 */
export class VolumeRelease extends pulumi.dynamic.Resource {
  constructor(name: string, args: VolumeReleaseInputs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof VolumeReleaseInputs, unknown> = { ...args, context: args.context };
    // Type token: pulumi-nodejs:dynamic/cnpg:VolumeRelease.
    super(provider, name, inputs, opts, "cnpg", "VolumeRelease");
  }
}
