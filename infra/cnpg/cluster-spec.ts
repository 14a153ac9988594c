// The CloudNativePG Cluster the program deploys for a stack of two or more instances, as a plain object (tested
// without mocks). Nothing in it changes on a failover: the primary's name lives in the Cluster's status only.
import type { ContainerResources } from "../postgres/chart";
import { CLUSTER_API_VERSION, clusterNames } from "./names";

export interface ClusterSettings {
  readonly name: string;
  readonly namespace: string;
  /** Two or more: one primary, the rest streaming replicas. */
  readonly instances: number;
  /** A full PostgreSQL server image, `repository:tag`. */
  readonly image: string;
  readonly dbName: string;
  readonly dbUser: string;
  readonly storageSize: string;
  /** Empty: the cluster's default StorageClass. */
  readonly storageClass: string;
  readonly resources: ContainerResources;
}

/**
 * The uid and gid of the server's process: the official postgres images' and our e2e image's. CloudNativePG's own
 * default is 26 (its images'), which cannot write a data directory initialised by the image's user.
 */
export const POSTGRES_UID = 999;

/** The Cluster's metadata and spec; the password stays in the Secret it names. */
export function clusterManifest(settings: ClusterSettings) {
  const names = clusterNames(settings.name, settings.namespace);
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: "Cluster",
    metadata: { name: settings.name, namespace: settings.namespace },
    spec: {
      instances: settings.instances,
      imageName: settings.image,
      // Never Always: a node without a registry runs what was imported under the image's own name.
      imagePullPolicy: "IfNotPresent",
      postgresUID: POSTGRES_UID,
      postgresGID: POSTGRES_UID,
      bootstrap: {
        initdb: { database: settings.dbName, owner: settings.dbUser, secret: { name: names.authSecret } },
      },
      storage: {
        size: settings.storageSize,
        ...(settings.storageClass ? { storageClass: settings.storageClass } : {}),
      },
      resources: {
        requests: { cpu: settings.resources.cpuRequest, memory: settings.resources.memoryRequest },
        limits: { cpu: settings.resources.cpuLimit, memory: settings.resources.memoryLimit },
      },
    },
  };
}
