// The ClusterGuard provider's work (index.ts makes the resource): the operator is not uninstalled while
// CloudNativePG clusters exist, which would leave their instances unmanaged (no failover) and, with the CRD gone,
// delete every Cluster and its volumes.
import type * as pulumi from "@pulumi/pulumi";
import { httpStatus, kubeApiError, kubeSession } from "../infra/kube/api";
import { TUNNEL_LIMITS } from "../infra/kube/target";

export interface GuardInputs {
  readonly context?: string;
}

/** The clusters that exist, as namespace/name; empty when there are none (or no CRD). */
export async function existingClusters(inputs: GuardInputs, limits = TUNNEL_LIMITS): Promise<string[]> {
  const { k8s, config, options } = await kubeSession(inputs.context, limits);
  try {
    const list = (await config
      .makeApiClient(k8s.CustomObjectsApi)
      .listClusterCustomObject(
        { group: "postgresql.cnpg.io", version: "v1", plural: "clusters" },
        options(),
      )) as { items?: { metadata?: { namespace?: string; name?: string } }[] };
    return (list.items ?? []).map((item) => `${item.metadata?.namespace}/${item.metadata?.name}`);
  } catch (error) {
    if (httpStatus(error) === 404) return [];
    throw kubeApiError(config, error, limits);
  }
}

/** What the guard's serialized provider calls: nothing on up; on destroy, a refusal while clusters exist. */
export const clusterGuardProvider: pulumi.dynamic.ResourceProvider<GuardInputs, GuardInputs> = {
  check: async (_olds, news) => ({ inputs: news }),
  diff: async (_id, olds, news) => ({ changes: olds.context !== news.context, replaces: [] }),
  create: async (inputs) => ({ id: "cnpg-cluster-guard", outs: inputs }),
  update: async (_id, _olds, news) => ({ outs: news }),
  async delete(_id, props) {
    const clusters = await existingClusters(props);
    if (clusters.length === 0) return;
    throw new Error(
      `the CloudNativePG operator still manages ${clusters.length} cluster(s) (${clusters.join(", ")}): ` +
        "destroy their stacks first (pulumi destroy), then the add-ons; nothing was uninstalled",
    );
  },
};
