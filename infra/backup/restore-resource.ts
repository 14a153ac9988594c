import * as pulumi from "@pulumi/pulumi";
import { delegatingProvider } from "../compiled-module";
import type { DatabaseTarget } from "../database/target";
import type { RestoreInputs, RestoreOutputs } from "./restore";

/** The compiled provider, relative to the project root (not exported: it is serialized). */
const PROVIDER_MODULE = "dist/infra/backup/restore.js";

const provider = delegatingProvider<RestoreInputs, RestoreOutputs>(PROVIDER_MODULE, "restoreProvider");

export interface BackupRestoreArgs {
  /** Empty for nothing, `latest`, or a backup's file name: restored into the database when it changes. */
  readonly backup: string;
  readonly namespace: string;
  /** The backup CronJob; the restore Job is made from its template. */
  readonly cronJob: string;
  readonly timeoutSeconds: number;
  readonly context?: string;
  /** The database, its role and password (a secret), and how to reach it: for binding the bookkeeping. */
  readonly database: string;
  readonly user: string;
  readonly password: pulumi.Input<string>;
  readonly target: pulumi.Input<DatabaseTarget>;
  readonly waitTimeoutSeconds: number;
}

/**
 * A restore of one of the stack's backups into its database, run by `pulumi up` when `backup` changes (and on a
 * new stack, such as one brought up again after a destroy, whose database it fills from the kept backups).
 */
export class BackupRestore extends pulumi.dynamic.Resource {
  /** The backup the last restore restored (what `latest` meant then); empty when none was. */
  declare readonly restored: pulumi.Output<string>;
  /** The loaded tables it brought back, as `schema.table`. */
  declare readonly tables: pulumi.Output<string[]>;

  constructor(name: string, args: BackupRestoreArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof RestoreOutputs, unknown> = {
      backup: args.backup,
      namespace: args.namespace,
      cronJob: args.cronJob,
      timeoutSeconds: args.timeoutSeconds,
      context: args.context,
      database: args.database,
      user: args.user,
      password: pulumi.secret(args.password),
      target: args.target,
      waitTimeoutSeconds: args.waitTimeoutSeconds,
      restored: undefined,
      tables: undefined,
    };
    // Type token: pulumi-nodejs:dynamic/backup:BackupRestore.
    super(
      provider,
      name,
      inputs,
      { ...opts, additionalSecretOutputs: ["password"] },
      "backup",
      "BackupRestore",
    );
  }
}
