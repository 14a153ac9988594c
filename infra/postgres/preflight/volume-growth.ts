// Growing the volume in place: the PVC's request is patched (its StorageClass allows expansion), and the
// StatefulSet, whose volumeClaimTemplate is immutable, is deleted without its pods (orphaned) for the release to
// recreate with the new template. The pod and its volume keep running throughout.
import { httpStatus, kubeApiError, kubeSession } from "../../kube/api";
import { TUNNEL_LIMITS } from "../../kube/target";
import { chartNames } from "../chart";
import type { VolumePlan } from "./checks";

/** How long the garbage collector may take to let go of an orphaned StatefulSet. */
const ORPHAN_WAIT_MS = 60_000;

export async function applyVolumePlan(
  where: { readonly namespace: string; readonly releaseName: string; readonly context?: string },
  plan: VolumePlan,
  limits = TUNNEL_LIMITS,
): Promise<void> {
  if (!plan.grow && !plan.recreate) return;
  const { k8s, config, options } = await kubeSession(where.context, limits);
  const names = chartNames(where.releaseName, where.namespace);
  const failed = (error: unknown) => kubeApiError(config, error, limits);

  if (plan.grow) {
    const core = config.makeApiClient(k8s.CoreV1Api);
    await core
      .patchNamespacedPersistentVolumeClaim(
        {
          name: plan.grow.claim,
          namespace: where.namespace,
          body: { spec: { resources: { requests: { storage: plan.grow.to } } } },
        },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch, options()),
      )
      .catch((error: unknown) => Promise.reject(failed(error)));
  }

  if (plan.recreate) {
    const apps = config.makeApiClient(k8s.AppsV1Api);
    const sts = { name: names.statefulSet, namespace: where.namespace };
    try {
      await apps.deleteNamespacedStatefulSet({ ...sts, propagationPolicy: "Orphan" }, options());
    } catch (error) {
      if (httpStatus(error) !== 404) throw failed(error);
    }
    // The object lingers until the garbage collector has removed the pods' owner references.
    const deadline = Date.now() + ORPHAN_WAIT_MS;
    for (;;) {
      try {
        await apps.readNamespacedStatefulSet(sts, options());
      } catch (error) {
        if (httpStatus(error) === 404) return;
        throw failed(error);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `StatefulSet ${where.namespace}/${names.statefulSet} was deleted (orphaning its pod) but is still there ` +
            `after ${ORPHAN_WAIT_MS / 1000}s: check the cluster's garbage collector (kube-controller-manager), ` +
            "then run pulumi up again",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
