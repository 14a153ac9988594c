// The Preflight provider's work, as plain functions (preflight-resource.ts is the resource): `check` reads the
// cluster and refuses what cannot work before anything changes, at preview and at up; `create`/`update` make the
// volume changes the release cannot (the PVC's size, the StatefulSet's immutable claim template).
import type * as pulumi from "@pulumi/pulumi";
import { SalesDbError } from "../../loader/errors";
import { readClusterFacts } from "./preflight/cluster-facts";
import { chartNames } from "./chart";
import {
  describePlan,
  refusals,
  topologyRefusal,
  volumePlan,
  type PreflightSettings,
} from "./preflight/checks";
import { checkImageStarts } from "./preflight/image-check";
import { applyVolumePlan } from "./preflight/volume-growth";

export interface PreflightInputs extends PreflightSettings {
  /** The kubeconfig context; unset: the current one. */
  readonly context?: string;
  /** How long a new image may take to be pulled and to run; unset (older states): Helm's default, 300 s. */
  readonly imageCheckTimeoutSeconds?: number;
  /** Set by `check`: what `up` does to the volume, in one line for the preview; empty when nothing. */
  readonly volumePlan?: string;
}

/**
 * `check`: reads the cluster and refuses what cannot work, or says what `up` does to the volume. Settings that
 * are the last applied ones, with nothing left to do, need no reading: a no-change preview stays as fast as it was
 * (loading the Kubernetes client alone takes about 0.06 s, 0.4 s before it was bundled).
 */
export async function checkPreflight(
  olds: Partial<PreflightInputs>,
  news: PreflightInputs,
): Promise<{ inputs: PreflightInputs; failures: { property: string; reason: string }[] }> {
  const topology = topologyRefusal(olds, news);
  if (topology) return { inputs: news, failures: [topology] };
  if (!olds.volumePlan && olds.namespace !== undefined && settingsOf(olds) === settingsOf(news)) {
    return { inputs: { ...news, volumePlan: "" }, failures: [] };
  }
  let read;
  try {
    read = await readClusterFacts(news);
  } catch (error) {
    // The API unreachable or refusing: one line, as a failure of this resource, not a stack trace.
    if (!(error instanceof SalesDbError)) throw error;
    return { inputs: news, failures: [{ property: "namespace", reason: error.message }] };
  }
  const { facts, sizes } = read;
  const reasons = refusals(facts, news, sizes);
  if (reasons.length > 0) {
    return { inputs: news, failures: [...reasons] };
  }
  const plan = describePlan(
    volumePlan(facts, news, sizes),
    chartNames(news.releaseName, news.namespace).statefulSet,
  );
  return { inputs: { ...news, volumePlan: plan }, failures: [] };
}

/** An update when a setting changed or the volume has something to do; never a replace. */
export function diffPreflight(
  olds: PreflightInputs,
  news: PreflightInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const changes = Boolean(news.volumePlan) || settingsOf(olds) !== settingsOf(news);
  return { changes, replaces: [], deleteBeforeReplace: false };
}

/**
 * `create` and `update`: a new image tried first, in the namespace if it exists (a new namespace has no rollout
 * to protect), then the volume changes, from the cluster as it is now (check may be minutes old).
 */
export async function applyPreflight(
  inputs: PreflightInputs,
  olds?: PreflightInputs,
): Promise<PreflightInputs> {
  const { facts, sizes } = await readClusterFacts(inputs);
  const reasons = refusals(facts, inputs, sizes);
  if (reasons.length > 0) throw new Error(reasons.map((refusal) => refusal.reason).join("; "));
  if (facts.namespace !== null && inputs.image !== olds?.image) {
    await checkImageStarts({ ...inputs, timeoutSeconds: inputs.imageCheckTimeoutSeconds ?? 300 }).catch(
      (error: unknown) =>
        Promise.reject(
          new SalesDbError(
            "job_failed",
            `${error instanceof Error ? error.message : String(error)}; nothing was changed, and the database ` +
              "keeps its image: set image to one that starts",
          ),
        ),
    );
  }
  await applyVolumePlan(inputs, volumePlan(facts, inputs, sizes));
  return { ...inputs, volumePlan: "" };
}

/** The settings, without the plan, independent of key order and of unset keys. */
function settingsOf(inputs: Partial<PreflightInputs>): string {
  const { volumePlan: _plan, ...settings } = inputs;
  return JSON.stringify(
    Object.entries(settings)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** What the Preflight resource's serialized provider calls (preflight-resource.ts). */
export const preflightProvider: pulumi.dynamic.ResourceProvider<PreflightInputs, PreflightInputs> = {
  check: checkPreflight,
  diff: async (_id, olds, news) => diffPreflight(olds, news),
  async create(inputs) {
    return { id: `${inputs.namespace}/${inputs.releaseName}`, outs: await applyPreflight(inputs) };
  },
  update: async (_id, olds, news) => ({ outs: await applyPreflight(news, olds) }),
};
