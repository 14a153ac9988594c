// What the preflight refuses, and what it will do to the volume, decided from the cluster's facts alone: plain
// functions, each refusal one line that names what is wrong and what to do.
import type { ClusterFacts, Sizes } from "./cluster-facts";
import { postgresMajor } from "../chart";
import { ADDONS_COMMAND, CLUSTER_CRD } from "../../cnpg/names";

/** The stack's settings the preflight judges. */
export interface PreflightSettings {
  readonly namespace: string;
  readonly createNamespace: boolean;
  readonly releaseName: string;
  readonly storageSize: string;
  /** Empty: the cluster's default StorageClass. */
  readonly storageClass: string;
  /** `repository:tag`. */
  readonly image: string;
  /** The oldest Kubernetes the chart supports (its `kubeVersion`, like `1.27.0`). */
  readonly minKubernetes: string;
  /** Two or more: a CloudNativePG Cluster. Unset (the chart's stacks, older states): one. */
  readonly instances?: number;
}

/** What `up` does to the volume before the release: grow the PVC, recreate the StatefulSet without its pods. */
export interface VolumePlan {
  readonly grow?: {
    readonly claim: string;
    readonly from: string;
    readonly to: string;
    readonly storageClass: string;
  };
  /** Why the StatefulSet object is recreated (its volumeClaimTemplate is immutable). */
  readonly recreate?: string;
}

/** A reason the stack cannot be applied, and the setting it is about (the engine prints it with its value). */
export interface Refusal {
  readonly property: keyof PreflightSettings;
  readonly reason: string;
}

/** Every reason the stack cannot be applied to this cluster as configured; empty when it can. */
export function refusals(facts: ClusterFacts, settings: PreflightSettings, sizes: Sizes): Refusal[] {
  return [
    ...clusterRefusals(facts, settings),
    ...volumeRefusals(facts, settings, sizes),
    ...versionRefusals(facts, settings),
  ];
}

function clusterRefusals(facts: ClusterFacts, settings: PreflightSettings): Refusal[] {
  const found: Refusal[] = [];
  const refuse = (property: Refusal["property"], reason: string) => found.push({ property, reason });
  const ns = settings.namespace;
  const running = versionNumbers(facts.kubernetesVersion ?? "");
  if (running && olderThan(running, versionNumbers(settings.minKubernetes) ?? [])) {
    refuse(
      "minKubernetes",
      `Kubernetes ${facts.kubernetesVersion} at ${facts.server} is older than the chart supports ` +
        `(${settings.minKubernetes} or newer): upgrade the cluster, or point kubernetes:context at a newer one`,
    );
  }
  if ((settings.instances ?? 1) > 1 && facts.clusterCrd === false) {
    refuse(
      "instances",
      `instances ${settings.instances} needs the CloudNativePG operator, whose CRD ${CLUSTER_CRD} the cluster at ` +
        `${facts.server} lacks: install it once per cluster (${ADDONS_COMMAND}; README, High availability), ` +
        "or pulumi config set instances 1",
    );
  }
  const classes = facts.storageClasses;
  const names = classes?.map((c) => c.name).join(", ") || "none";
  if (classes && settings.storageClass && !classes.some((c) => c.name === settings.storageClass)) {
    refuse(
      "storageClass",
      `StorageClass ${settings.storageClass} does not exist in the cluster (it has: ${names}): ` +
        "pulumi config set storageClass to one of them",
    );
  }
  if (classes && !settings.storageClass && facts.volume === null && !classes.some((c) => c.isDefault)) {
    refuse(
      "storageClass",
      `the cluster has no default StorageClass and storageClass is not set, so the volume would never bind: ` +
        `pulumi config set storageClass to one of the cluster's (${names}), or mark one as the default`,
    );
  }
  if (facts.namespace === null && !settings.createNamespace) {
    refuse(
      "namespace",
      `namespace ${ns} does not exist and createNamespace is false: create it ` +
        `(kubectl create namespace ${ns}), or pulumi config set createNamespace true`,
    );
  }
  if (facts.denied.length > 0) {
    refuse(
      "namespace",
      `the kubeconfig's user (context ${facts.context}) may not ${facts.denied.join(", ")} in namespace ${ns}: ` +
        "ask for a Role that allows it (README, Permissions the kubeconfig needs)",
    );
  }
  if (facts.podRefusal) {
    refuse(
      "namespace",
      `namespace ${ns} refuses the PostgreSQL pod (${oneLine(facts.podRefusal)}): ` +
        "ask the cluster's admin to admit it, or deploy to another namespace",
    );
  }
  return found;
}

function volumeRefusals(facts: ClusterFacts, settings: PreflightSettings, sizes: Sizes): Refusal[] {
  const volume = facts.volume;
  if (!volume) return [];
  const found: Refusal[] = [];
  const refuse = (property: Refusal["property"], reason: string) => found.push({ property, reason });
  if (settings.storageClass && volume.storageClass && settings.storageClass !== volume.storageClass) {
    refuse(
      "storageClass",
      `storageClass ${settings.storageClass} differs from the class of the volume ${volume.name} ` +
        `(${volume.storageClass}): a volume cannot move to another class; set storageClass back to ` +
        `${volume.storageClass} (to move the data: a backup, then a restore into a new stack)`,
    );
  }
  if (sizes.volume !== undefined && sizes.wanted < sizes.volume) {
    refuse(
      "storageSize",
      `storageSize ${settings.storageSize} is smaller than the volume ${volume.name} (${volume.size}): ` +
        `a volume never shrinks; set storageSize back to ${volume.size}`,
    );
  }
  const storageClass = facts.storageClasses?.find((c) => c.name === volume.storageClass);
  if (
    sizes.volume !== undefined &&
    sizes.wanted > sizes.volume &&
    storageClass &&
    !storageClass.allowVolumeExpansion
  ) {
    refuse(
      "storageSize",
      `storageSize ${settings.storageSize} would grow the volume ${volume.name} (${volume.size}), but its ` +
        `StorageClass ${storageClass.name} does not allow volume expansion: set storageSize back to ${volume.size}, ` +
        `or have allowVolumeExpansion: true set on ${storageClass.name} (where its provisioner can resize)`,
    );
  }
  return found;
}

function versionRefusals(facts: ClusterFacts, settings: PreflightSettings): Refusal[] {
  const volume = facts.volume;
  const wanted = postgresMajor(tagOf(settings.image));
  if (!volume || !wanted) return [];
  const fromImage = postgresMajor(tagOf(facts.statefulSet?.image ?? ""));
  const running = volume.major ?? fromImage;
  if (!running || running === wanted) return [];
  const source = volume.major
    ? "recorded on the volume when it was created"
    : `the image the StatefulSet runs, ${facts.statefulSet?.image}`;
  return [
    {
      property: "image",
      reason:
        `image ${settings.image} is PostgreSQL ${wanted}, but the volume ${volume.name} holds a PostgreSQL ${running} ` +
        `data directory (${source}): a data directory starts only under its own major version; keep a ${running}.x ` +
        `tag, or move the data with a backup and a restore into a stack on ${wanted} (README, Day-two operations)`,
    },
  ];
}

/** What `up` will do to the volume, once nothing is refused. */
export function volumePlan(facts: ClusterFacts, settings: PreflightSettings, sizes: Sizes): VolumePlan {
  const volume = facts.volume;
  const grow =
    volume && sizes.volume !== undefined && sizes.wanted > sizes.volume
      ? {
          claim: volume.name,
          from: volume.size,
          to: settings.storageSize,
          storageClass: volume.storageClass ?? "",
        }
      : undefined;
  const sts = facts.statefulSet;
  const changed = sts
    ? [
        sts.claimSize !== undefined && sizes.claimTemplate !== sizes.wanted ? "size" : "",
        (sts.claimStorageClass ?? "") !== settings.storageClass ? "storage class" : "",
        sts.claimMajor !== postgresMajor(tagOf(settings.image)) ? "recorded major" : "",
      ].filter(Boolean)
    : [];
  return {
    ...(grow ? { grow } : {}),
    ...(sts && changed.length ? { recreate: `its volumeClaimTemplate's ${changed.join(", ")} changes` } : {}),
  };
}

/** The plan in one line for the preview; empty when `up` leaves the volume alone. */
export function describePlan(plan: VolumePlan, statefulSet: string): string {
  return [
    plan.grow
      ? `grows the volume ${plan.grow.claim} from ${plan.grow.from} to ${plan.grow.to} in place ` +
        `(StorageClass ${plan.grow.storageClass} allows expansion)`
      : "",
    plan.recreate
      ? `recreates the StatefulSet ${statefulSet} without deleting its pod, which keeps running (${plan.recreate}: ` +
        "the field is immutable)"
      : "",
  ]
    .filter(Boolean)
    .join("; then ");
}

/** The tag of `repository:tag` (a registry's `host:port/` is not a tag). */
export function tagOf(image: string): string {
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "";
}

function versionNumbers(version: string): number[] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

function olderThan(version: number[], minimum: number[]): boolean {
  for (let i = 0; i < 3; i++) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a < b;
  }
  return false;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * One instance is the chart's StatefulSet and volume, two or more a CloudNativePG Cluster and its own volumes:
 * moving between them would start an empty database, so it is refused, from the last applied settings.
 */
export function topologyRefusal(
  olds: Partial<PreflightSettings>,
  news: PreflightSettings,
): Refusal | undefined {
  if (olds.namespace === undefined) return undefined; // a new stack
  const was = olds.instances ?? 1;
  const now = news.instances ?? 1;
  if (was > 1 === now > 1) return undefined;
  const [from, to] =
    was > 1
      ? ["a CloudNativePG cluster", "the chart's single pod"]
      : ["the chart's single pod", "a CloudNativePG cluster"];
  return {
    property: "instances",
    reason:
      `instances ${was} → ${now} would move the database from ${from} to ${to}, a new and empty one: set ` +
      `instances back to ${was}, or move the data with a backup and a restore into a new stack ` +
      "(README, High availability)",
  };
}
