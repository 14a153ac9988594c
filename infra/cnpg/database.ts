// Two or more instances: a CloudNativePG Cluster (one primary, streaming replicas) instead of the chart.
import * as apiextensions from "@pulumi/kubernetes/apiextensions";
import * as helm from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseTarget } from "../database/target";
import { stackNamespace } from "../postgres/namespace";
import { CHART_DIR, POSTGRES_PORT, releaseValues } from "../postgres/chart";
import type { PostgresDatabaseArgs } from "../postgres/database";
import { passwordAndSecret } from "../postgres/password-secret";
import type { RolePassword } from "../postgres/role-password";
import { clusterManifest } from "./cluster-spec";
import { clusterNames } from "./names";
import { VolumeRelease } from "./volume-release-resource";

/** The Secret key of a kubernetes.io/basic-auth Secret that holds the password. */
export const BASIC_AUTH_PASSWORD = "password";

export interface HaDatabaseArgs extends Omit<PostgresDatabaseArgs, "releaseName" | "helmTimeoutSeconds"> {
  /** The Cluster's name (the stack's releaseName): its Services are `<name>-rw` and `<name>-ro`. */
  readonly clusterName: string;
  /** Two or more. */
  readonly instances: number;
  /** How long `up` waits for the Cluster to be Ready (every instance streaming). */
  readonly readyTimeoutSeconds: number;
  /** The Secret whose `ca.crt` verifies the server; default the Cluster's own CA. */
  readonly caSecret?: string;
}

/** A CloudNativePG Cluster of `instances`, bootstrapped from a basic-auth Secret that holds the stack's password. */
export class HaDatabase extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly readWriteService: pulumi.Output<string>;
  readonly readOnlyService: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly secretName: pulumi.Output<string>;
  /** The primary now, resolved when a connection opens; from the args, so that a failover changes nothing here. */
  readonly target: DatabaseTarget;
  readonly rolePassword: RolePassword;
  readonly cluster: apiextensions.CustomResource;
  /** The Secret whose `ca.crt` verifies the server: `args.caSecret`, or the Cluster's own CA. */
  readonly caSecret: string;
  /** With a backup schedule: the chart's backups only (scripts, volume, CronJob), dumping from `<name>-rw`. */
  readonly backups?: helm.Release;

  constructor(name: string, args: HaDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sales-db:cnpg:HaDatabase", name, {}, opts);
    const names = clusterNames(args.clusterName, args.namespace);
    const namespace = args.createNamespace ? stackNamespace(`${name}-namespace`, args, this) : undefined;
    const namespaceName = namespace ? namespace.metadata.name : pulumi.output(args.namespace);
    const context = args.kubeContext ? { context: args.kubeContext } : {};
    this.caSecret = args.caSecret ?? names.caSecret;
    const tls = {
      namespace: args.namespace,
      secretName: this.caSecret,
      secretKey: names.caKey,
      servername: names.readWrite,
      ...context,
    };
    this.target = args.directHost
      ? { mode: "direct", ...args.directHost, tls }
      : {
          mode: "port-forward",
          namespace: args.namespace,
          pod: args.clusterName,
          selector: names.primary,
          port: POSTGRES_PORT,
          secretName: names.authSecret,
          secretKey: BASIC_AUTH_PASSWORD,
          ...context,
          tls,
        };
    // As for the chart: the running role first (ALTER ROLE on the primary), then the Secret.
    const { rolePassword, secret } = passwordAndSecret(name, this, args, {
      target: this.target,
      namespace,
      namespaceName,
      secretName: names.authSecret,
      type: "kubernetes.io/basic-auth",
      data: (password) => ({ username: args.dbUser, [BASIC_AUTH_PASSWORD]: password }),
    });
    this.rolePassword = rolePassword;
    const manifest = clusterManifest({
      name: args.clusterName,
      namespace: args.namespace,
      instances: args.instances,
      image: `${args.image.repository}:${args.image.tag}`,
      dbName: args.dbName,
      dbUser: args.dbUser,
      storageSize: args.storageSize,
      storageClass: args.storageClass,
      resources: args.resources,
    });
    const timeout = `${args.readyTimeoutSeconds}s`;
    this.cluster = new apiextensions.CustomResource(
      `${name}-cluster`,
      {
        ...manifest,
        metadata: {
          ...manifest.metadata,
          namespace: namespaceName,
          // up ends when every instance runs (the operator's Ready condition), not when the object is stored.
          annotations: { "pulumi.com/waitFor": "condition=Ready" },
        },
      },
      {
        parent: this,
        dependsOn: [...args.after, secret],
        protect: args.protect,
        customTimeouts: { create: timeout, update: timeout },
      },
    );
    // Deleted before the Cluster: with Retain, it takes the Cluster's ownership off the volumes first.
    new VolumeRelease(
      `${name}-volume-release`,
      {
        namespace: args.namespace,
        selector: names.instances,
        retain: args.pvcRetention === "Retain",
        ...context,
      },
      { parent: this, provider: args.dynamicProvider, dependsOn: [this.cluster] },
    );

    // The chart's pg_dump backups, without its server: a Job dumps the primary through the -rw Service, verified
    // against the CA the seed uses, with the password the Secret holds when it runs (a rotation needs nothing).
    this.backups = args.backup.schedule
      ? new helm.Release(
          `${name}-backups`,
          {
            name: args.clusterName,
            chart: CHART_DIR,
            namespace: namespaceName,
            values: releaseValues(args, {
              secretName: names.authSecret,
              secretKey: BASIC_AUTH_PASSWORD,
              server: { service: names.readWrite, caSecret: this.caSecret },
            }),
            // Nothing to wait for, and Helm's wait would hang: on a WaitForFirstConsumer class the backup volume
            // stays Pending until the first backup's (or the restore's) pod mounts it. atomic would force the wait.
            skipAwait: true,
            atomic: false,
            cleanupOnFail: true,
          },
          // After the Cluster: its Services exist before any backup pod (whose environment names their address).
          { parent: this, dependsOn: [...args.after, secret, this.cluster], protect: args.protect },
        )
      : undefined;

    const deployed = this.cluster.metadata.apply((metadata) => metadata?.namespace ?? args.namespace);
    this.namespace = deployed;
    this.readWriteService = deployed.apply(() => names.readWriteHost);
    this.readOnlyService = deployed.apply(() => names.readOnlyHost);
    this.port = pulumi.output(POSTGRES_PORT);
    this.secretName = secret.metadata.name;
    this.registerOutputs({
      namespace: this.namespace,
      readWriteService: this.readWriteService,
      readOnlyService: this.readOnlyService,
      port: this.port,
      secretName: this.secretName,
    });
  }
}
