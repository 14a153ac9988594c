// The names CloudNativePG gives what it makes for a Cluster (its Services, CA Secret, pod labels), in one place.

/** The API group, version and kind of a CloudNativePG cluster, and its CRD's name (the preflight looks for it). */
export const CLUSTER_API_VERSION = "postgresql.cnpg.io/v1";
export const CLUSTER_CRD = "clusters.postgresql.cnpg.io";
/** The operator the add-ons project installs (addons/cnpg/manifest.json), named in errors and the README. */
export const OPERATOR_VERSION = "1.28.0";
/** What a user runs once per cluster to install the operator (README, High availability). */
export const ADDONS_COMMAND = "cd addons && pulumi up";

/** The pod labels of CloudNativePG 1.28 (pkg/utils/labels_annotations.go, pkg/specs/pods.go). */
const CLUSTER_LABEL = "cnpg.io/cluster";
const ROLE_LABEL = "cnpg.io/instanceRole";

/** What the operator and our program name after the cluster `cluster` in namespace `namespace`. */
export function clusterNames(cluster: string, namespace: string) {
  const service = (suffix: string) => `${cluster}-${suffix}.${namespace}.svc.cluster.local`;
  return {
    /** The Secret the Cluster bootstraps its owner role from (kubernetes.io/basic-auth). */
    authSecret: `${cluster}-auth`,
    /** The operator's CA for the servers' certificates, and its key. */
    caSecret: `${cluster}-ca`,
    caKey: "ca.crt",
    /** The read-write Service: always the primary. Its short name is in every server certificate. */
    readWrite: `${cluster}-rw`,
    readWriteHost: service("rw"),
    /** The read-only Service: the replicas only. */
    readOnly: `${cluster}-ro`,
    readOnlyHost: service("ro"),
    /** The pods of the cluster, and its primary now (resolved when a tunnel opens, never stored). */
    instances: `${CLUSTER_LABEL}=${cluster}`,
    primary: `${CLUSTER_LABEL}=${cluster},${ROLE_LABEL}=primary`,
  };
}
