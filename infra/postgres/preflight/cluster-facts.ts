// What the preflight reads from the cluster before anything changes: the Kubernetes version, the StorageClasses,
// the namespace, what the kubeconfig's user may do there, and the volume and StatefulSet a previous `up` left.
// Each read is bounded; one the user may not make is recorded as unknown, never guessed.
import { httpStatus, kubeApiError, kubeSession, requestTimeout, statusMessage } from "../../kube/api";
import type { K8s } from "../../kube/client";
import { TUNNEL_LIMITS } from "../../kube/target";
import { chartNames, MAJOR_LABEL, POD_SECURITY } from "../chart";
import { CLUSTER_CRD } from "../../cnpg/names";

export interface StorageClassFact {
  readonly name: string;
  readonly isDefault: boolean;
  readonly allowVolumeExpansion: boolean;
}

/** The database's volume, as the PVC of the StatefulSet's first pod. */
export interface VolumeFact {
  readonly name: string;
  readonly size: string;
  readonly storageClass?: string;
  /** The PostgreSQL major its data directory was initialised with, recorded on the PVC at its creation. */
  readonly major?: string;
}

export interface StatefulSetFact {
  readonly name: string;
  readonly image?: string;
  /** The volumeClaimTemplate's size, class and major label: immutable in Kubernetes. */
  readonly claimSize?: string;
  readonly claimStorageClass?: string;
  readonly claimMajor?: string;
}

export interface ClusterFacts {
  readonly server: string;
  readonly context: string;
  /** `gitVersion` of the API server; undefined when it cannot be read. */
  readonly kubernetesVersion?: string;
  /** Undefined when the user may not list StorageClasses: then nothing is said about them. */
  readonly storageClasses?: readonly StorageClassFact[];
  /** The namespace's labels; null when it does not exist, undefined when it cannot be read. */
  readonly namespace?: { readonly labels: Readonly<Record<string, string>> } | null;
  /** What the user may not do in the namespace that the stack needs, and why it needs it. */
  readonly denied: readonly string[];
  /** Why the namespace's Pod Security admission refuses the chart's pod, in a dry run; undefined if it admits it. */
  readonly podRefusal?: string;
  /** null when there is none yet; undefined when the user may not read it (then nothing is judged by it). */
  readonly volume: VolumeFact | null | undefined;
  readonly statefulSet: StatefulSetFact | null | undefined;
  /** Whether CloudNativePG's Cluster CRD is installed; undefined when not asked (one instance) or not readable. */
  readonly clusterCrd?: boolean;
}

/** Sizes in bytes, read with the Kubernetes client's own quantity parser. */
export interface Sizes {
  readonly wanted: number;
  readonly volume?: number;
  readonly claimTemplate?: number;
}

export interface FactsQuery {
  readonly namespace: string;
  readonly releaseName: string;
  readonly image: string;
  readonly storageSize: string;
  readonly context?: string;
  /** Two or more: the CloudNativePG CRD is looked for. */
  readonly instances?: number;
}

/** The accesses the stack needs in its namespace beyond what Helm needs, and what for. */
const NEEDED_ACCESS = [
  { verb: "get", resource: "secrets", why: "to read the password for refresh and destroy" },
  { verb: "get", resource: "pods", why: "to wait for the pod" },
  { verb: "create", resource: "pods", subresource: "portforward", why: "to reach PostgreSQL" },
  { verb: "get", resource: "persistentvolumeclaims", why: "to judge a change of the volume" },
  { verb: "create", resource: "pods", why: "to try a new image before the rollout uses it" },
] as const;

type Answer<T> = { value: T } | { status: number };

/** The facts, and the sizes they and the query name, in bytes. */
export async function readClusterFacts(
  query: FactsQuery,
  limits = TUNNEL_LIMITS,
): Promise<{ facts: ClusterFacts; sizes: Sizes }> {
  const { k8s, config, options } = await kubeSession(query.context, limits);
  /** One read: its value, or the HTTP status the API refused it with; no answer at all is an error. */
  const ask = async <T>(call: () => Promise<T>): Promise<Answer<T>> => {
    try {
      return { value: await call() };
    } catch (error) {
      const status = httpStatus(error);
      if (status === undefined || status >= 500) throw kubeApiError(config, error, limits);
      return { status };
    }
  };
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const names = chartNames(query.releaseName, query.namespace);
  const ns = query.namespace;

  const [crd, version, classes, namespace, volume, statefulSet, ...access] = await Promise.all([
    (query.instances ?? 1) > 1
      ? ask(() =>
          config
            .makeApiClient(k8s.ApiextensionsV1Api)
            .readCustomResourceDefinition({ name: CLUSTER_CRD }, options()),
        )
      : undefined,
    ask(() => config.makeApiClient(k8s.VersionApi).getCode(options())),
    ask(() => config.makeApiClient(k8s.StorageV1Api).listStorageClass({}, options())),
    ask(() => core.readNamespace({ name: ns }, options())),
    ask(() => core.readNamespacedPersistentVolumeClaim({ name: names.pvc, namespace: ns }, options())),
    ask(() => apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace: ns }, options())),
    ...NEEDED_ACCESS.map((need) =>
      ask(() =>
        config.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview(
          {
            body: {
              spec: {
                resourceAttributes: {
                  namespace: ns,
                  verb: need.verb,
                  resource: need.resource,
                  subresource: "subresource" in need ? need.subresource : undefined,
                },
              },
            },
          },
          options(),
        ),
      ),
    ),
  ]);

  // The client's own parser of Kubernetes quantities.
  const { quantityToScalar } = k8s;
  const bytes = (quantity: string | undefined) => {
    try {
      return quantity === undefined ? undefined : Number(quantityToScalar(quantity));
    } catch {
      return undefined;
    }
  };
  const facts = await factsFrom();
  const sizes = {
    wanted: bytes(query.storageSize) ?? Number.NaN,
    volume: bytes(facts.volume?.size),
    claimTemplate: bytes(facts.statefulSet?.claimSize),
  };
  return { facts, sizes };

  async function factsFrom(): Promise<ClusterFacts> {
    const namespaceFact =
      "value" in namespace
        ? { labels: namespace.value.metadata?.labels ?? {} }
        : namespace.status === 404
          ? null
          : undefined;
    return {
      server: config.getCurrentCluster()?.server ?? "",
      context: config.getCurrentContext() || "(none)",
      kubernetesVersion: "value" in version ? version.value.gitVersion : undefined,
      storageClasses:
        "value" in classes
          ? classes.value.items.map((item) => ({
              name: item.metadata?.name ?? "",
              isDefault: isDefaultClass(item.metadata?.annotations),
              allowVolumeExpansion: item.allowVolumeExpansion === true,
            }))
          : undefined,
      namespace: namespaceFact,
      denied: NEEDED_ACCESS.filter((_, i) => {
        const answer = access[i]!;
        return "value" in answer && answer.value.status?.allowed === false;
      }).map(
        (need) =>
          `${need.verb} ${need.resource}${"subresource" in need ? `/${need.subresource}` : ""} (${need.why})`,
      ),
      podRefusal: namespaceFact ? await podRefusal(k8s, core, query, options) : undefined,
      volume:
        "value" in volume
          ? {
              name: names.pvc,
              size: volume.value.spec?.resources?.requests?.storage ?? "",
              storageClass: volume.value.spec?.storageClassName,
              major: volume.value.metadata?.labels?.[MAJOR_LABEL],
            }
          : absentOrUnknown(volume),
      clusterCrd:
        crd === undefined ? undefined : "value" in crd ? true : crd.status === 404 ? false : undefined,
      statefulSet:
        "value" in statefulSet
          ? statefulSetFact(names.statefulSet, statefulSet.value)
          : absentOrUnknown(statefulSet),
    };
  }
}

/** null for an object that does not exist (404), undefined for one the user may not read. */
function absentOrUnknown(answer: { status: number }): null | undefined {
  return answer.status === 404 ? null : undefined;
}

function isDefaultClass(annotations: Record<string, string> | undefined): boolean {
  return (
    annotations?.["storageclass.kubernetes.io/is-default-class"] === "true" ||
    annotations?.["storageclass.beta.kubernetes.io/is-default-class"] === "true"
  );
}

function statefulSetFact(
  name: string,
  sts: {
    spec?: {
      template?: { spec?: { containers?: { name: string; image?: string }[] } };
      volumeClaimTemplates?: {
        metadata?: { name?: string; labels?: Record<string, string> };
        spec?: { storageClassName?: string; resources?: { requests?: Record<string, string> } };
      }[];
    };
  },
): StatefulSetFact {
  const claim = sts.spec?.volumeClaimTemplates?.find(
    (template) => template.metadata?.name === "postgres-data",
  );
  return {
    name,
    image: sts.spec?.template?.spec?.containers?.find((container) => container.name === "postgres")?.image,
    claimSize: claim?.spec?.resources?.requests?.storage,
    claimStorageClass: claim?.spec?.storageClassName,
    claimMajor: claim?.metadata?.labels?.[MAJOR_LABEL],
  };
}

/**
 * A server-side dry run of the chart's pod (its security contexts, the configured image) in the namespace: what
 * Pod Security admission says of it, without creating anything. A user who may not create pods learns nothing
 * here (Helm creates the StatefulSet, not the pod).
 */
async function podRefusal(
  k8s: K8s,
  core: InstanceType<K8s["CoreV1Api"]>,
  query: FactsQuery,
  options: () => ReturnType<typeof requestTimeout>,
): Promise<string | undefined> {
  try {
    await core.createNamespacedPod(
      {
        namespace: query.namespace,
        dryRun: "All",
        body: {
          metadata: { name: `${query.releaseName}-preflight` },
          spec: {
            automountServiceAccountToken: false,
            securityContext: POD_SECURITY.pod,
            containers: [
              {
                name: "postgres",
                image: query.image,
                securityContext: {
                  ...POD_SECURITY.container,
                  capabilities: { drop: [...POD_SECURITY.container.capabilities.drop] },
                },
              },
            ],
          },
        },
      },
      options(),
    );
    return undefined;
  } catch (error) {
    // Only Pod Security's verdict: quotas, limit ranges and webhooks judge the real pod, not this bare one.
    const message = statusMessage((error as { body?: unknown }).body) ?? "";
    return httpStatus(error) === 403 && /violates PodSecurity/.test(message) ? message : undefined;
  }
}
