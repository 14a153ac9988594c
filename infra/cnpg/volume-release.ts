// The VolumeRelease provider's work (volume-release-resource.ts is the resource): CloudNativePG makes each
// instance's PVC owned by the Cluster, so deleting the Cluster would have Kubernetes delete the volumes too. With
// pvcRetention Retain, destroy first takes that ownership off, and the volumes stay.
import type * as pulumi from "@pulumi/pulumi";
import { kubeSession } from "../kube/api";
import { TUNNEL_LIMITS } from "../kube/target";

export interface VolumeReleaseInputs {
  readonly namespace: string;
  /** The label selector of the cluster's PVCs (`cnpg.io/cluster=<name>`). */
  readonly selector: string;
  /** Keep the volumes when the Cluster is deleted. */
  readonly retain: boolean;
  readonly context?: string;
}

/** Removes the owner references of the PVCs `selector` selects; returns their names. */
export async function releaseVolumes(inputs: VolumeReleaseInputs, limits = TUNNEL_LIMITS): Promise<string[]> {
  const { k8s, config, options, api } = await kubeSession(inputs.context, limits);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const claims = await api(() =>
    core.listNamespacedPersistentVolumeClaim(
      { namespace: inputs.namespace, labelSelector: inputs.selector },
      options(),
    ),
  );
  const released: string[] = [];
  for (const claim of claims.items) {
    const name = claim.metadata?.name;
    if (!name || !claim.metadata?.ownerReferences?.length) continue;
    await api(() =>
      core.patchNamespacedPersistentVolumeClaim(
        { name, namespace: inputs.namespace, body: { metadata: { ownerReferences: null } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch, options()),
      ),
    );
    released.push(name);
  }
  return released;
}

/** What the VolumeRelease resource's serialized provider calls. */
export const volumeReleaseProvider: pulumi.dynamic.ResourceProvider<
  VolumeReleaseInputs,
  VolumeReleaseInputs
> = {
  check: async (_olds, news) => ({ inputs: news }),
  diff: async (_id, olds, news) => ({ changes: JSON.stringify(olds) !== JSON.stringify(news), replaces: [] }),
  create: async (inputs) => ({ id: `${inputs.namespace}/${inputs.selector}`, outs: inputs }),
  update: async (_id, _olds, news) => ({ outs: news }),
  async delete(_id, props) {
    if (props.retain) await releaseVolumes(props);
  },
};
