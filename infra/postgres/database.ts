// The two submodules only: the package root would load every API group's module (about 20 ms of each program run).
import * as helm from "@pulumi/kubernetes/helm/v3";
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseTarget } from "../database/target";
import {
  CHART_DIR,
  chartNames,
  PASSWORD_KEY,
  POSTGRES_PORT,
  releaseValues,
  type ContainerResources,
} from "./chart";
import { passwordAndSecret } from "./password-secret";
import type { RolePassword } from "./role-password";
import { stackNamespace } from "./namespace";

export interface PostgresDatabaseArgs {
  /** Namespace to deploy into. */
  readonly namespace: string;
  /** Create the namespace (and delete it on destroy, unless the PVC is retained). */
  readonly createNamespace: boolean;
  /** Helm release name, which is also the StatefulSet's name. */
  readonly releaseName: string;
  /** Official `postgres` image at a pinned tag. */
  readonly image: { readonly repository: string; readonly tag: string };
  /** Database created on first boot. */
  readonly dbName: string;
  /** Owner of the database. */
  readonly dbUser: string;
  /** The password; only ever placed in the Kubernetes Secret. */
  readonly password: pulumi.Input<string>;
  /** PVC size from the volumeClaimTemplate. */
  readonly storageSize: string;
  /** StorageClass; empty for the cluster default. */
  readonly storageClass: string;
  /** PVC retention when the StatefulSet is deleted. */
  readonly pvcRetention: "Delete" | "Retain";
  /** Container requests and limits. */
  readonly resources: ContainerResources;
  /** Scheduled pg_dump backups into a volume of their own; an empty schedule makes none. */
  readonly backup: { readonly schedule: string; readonly keep: number };
  /** Helm wait timeout in seconds; on timeout the release rolls back (atomic). */
  readonly helmTimeoutSeconds: number;
  /** Protect the release and the Secret against deletion. Default false. */
  readonly protect?: boolean;
  /** How clients outside the cluster reach PostgreSQL: a host they reach directly. Default: a port-forward. */
  readonly directHost?: { readonly host: string; readonly port: number };
  /** The kubeconfig context of the port-forward. Default: the current context. */
  readonly kubeContext?: string;
  /** How long the password rotation waits for the pod and the server. */
  readonly waitTimeoutSeconds: number;
  /** The host of the program's dynamic resources (the password rotation). */
  readonly dynamicProvider: pulumi.ProviderResource;
  /** What every resource of the database waits for: the preflight, which refuses before anything changes. */
  readonly after: pulumi.Resource[];
}

/** PostgreSQL as a Helm release of `charts/postgres`, with its password in a Kubernetes Secret. */
export class PostgresDatabase extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly statefulSetName: pulumi.Output<string>;
  readonly podName: pulumi.Output<string>;
  readonly pvcName: pulumi.Output<string>;
  readonly serviceHost: pulumi.Output<string>;
  readonly headlessServiceHost: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly secretName: pulumi.Output<string>;
  /**
   * How a client outside the cluster reaches the database, from the args rather than the release's outputs: those
   * are unknown while a chart change is previewed, and a seed reaching an unknown target would preview an update
   * that `up` never makes.
   */
  readonly target: DatabaseTarget;
  /** The role's password, as the running database has it (a secret). */
  readonly rolePassword: RolePassword;
  readonly release: helm.Release;

  constructor(name: string, args: PostgresDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sales-db:postgres:PostgresDatabase", name, {}, opts);
    const releaseName = args.releaseName;
    const secretName = `${releaseName}-auth`;

    // With Retain, destroy must not delete the namespace either: that would take the retained PVC with it.
    const namespace = args.createNamespace ? stackNamespace(`${name}-namespace`, args, this) : undefined;
    const namespaceName = namespace ? namespace.metadata.name : pulumi.output(args.namespace);

    this.target = args.directHost
      ? { mode: "direct", ...args.directHost }
      : {
          mode: "port-forward",
          namespace: args.namespace,
          pod: chartNames(releaseName, args.namespace).pod,
          port: POSTGRES_PORT,
          secretName,
          secretKey: PASSWORD_KEY,
          ...(args.kubeContext ? { context: args.kubeContext } : {}),
        };
    const { rolePassword, secret } = passwordAndSecret(name, this, args, {
      target: this.target,
      namespace,
      namespaceName,
      secretName,
      type: "Opaque",
      data: (password) => ({ [PASSWORD_KEY]: password }),
    });
    this.rolePassword = rolePassword;

    this.release = new helm.Release(
      `${name}-release`,
      {
        name: releaseName,
        chart: CHART_DIR,
        namespace: namespaceName,
        values: releaseValues(args, { secretName }),
        atomic: true,
        cleanupOnFail: true,
        timeout: args.helmTimeoutSeconds,
      },
      { parent: this, dependsOn: [...args.after, secret], protect: args.protect },
    );

    // Derived from the deployed release, so anything using them waits for it.
    const names = pulumi
      .all([this.release.status.name, this.release.status.namespace])
      .apply(([release, ns]) => ({
        ...chartNames(release ?? releaseName, ns ?? args.namespace),
        namespace: ns ?? args.namespace,
      }));
    this.namespace = names.namespace;
    this.statefulSetName = names.statefulSet;
    this.podName = names.pod;
    this.pvcName = names.pvc;
    this.serviceHost = names.serviceHost;
    this.headlessServiceHost = names.headlessServiceHost;
    this.port = pulumi.output(POSTGRES_PORT);
    this.secretName = secret.metadata.name;

    this.registerOutputs({
      namespace: this.namespace,
      statefulSetName: this.statefulSetName,
      podName: this.podName,
      pvcName: this.pvcName,
      serviceHost: this.serviceHost,
      headlessServiceHost: this.headlessServiceHost,
      port: this.port,
      secretName: this.secretName,
    });
  }
}
