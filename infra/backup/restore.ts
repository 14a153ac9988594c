// The BackupRestore provider's work, as plain functions (restore-resource.ts is the resource): restore a backup
// with a Job in the cluster, then bind sales-db's bookkeeping to the tables the restore recreated.
import type * as pulumi from "@pulumi/pulumi";
import { adoptRestored } from "../../loader/db/bookkeeping";
import { connectWithRetry } from "../../loader/db/connection/connect";
import { withDatabase } from "../database/connect";
import type { DatabaseAccess } from "../database/target";
import { runJobFromCronJob } from "../kube/job";
import type { TaskLimits } from "../kube/pod-state";

export interface RestoreInputs extends DatabaseAccess {
  /** What to restore: empty for nothing, `latest`, or a backup's file name. Restored when it changes. */
  readonly backup: string;
  readonly namespace: string;
  /** The backup CronJob, whose template the restore Job is made from (same image, volume and credentials). */
  readonly cronJob: string;
  /** The longest the restore Job may take. */
  readonly timeoutSeconds: number;
  readonly context?: string;
  /** Secret: the role's password, for binding the bookkeeping. */
  readonly password: string;
}

export interface RestoreOutputs extends RestoreInputs {
  /** The file the last restore restored (what `latest` meant then); empty when none was. */
  readonly restored: string;
  /** The loaded tables the restore brought back, as `schema.table`, now sales-db's again. */
  readonly tables: string[];
}

/** An update when the backup to restore changed, or where it would go; a restore only for the first. */
export function diffRestore(
  olds: RestoreOutputs,
  news: RestoreInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const where = (inputs: RestoreInputs) =>
    JSON.stringify([inputs.namespace, inputs.cronJob, inputs.target, inputs.database, inputs.user]);
  return {
    changes: olds.backup !== news.backup || where(olds) !== where(news),
    replaces: [],
    deleteBeforeReplace: false,
  };
}

export async function createRestore(inputs: RestoreInputs, limits?: Partial<TaskLimits>) {
  const outs = inputs.backup ? await restore(inputs, limits) : { ...inputs, restored: "", tables: [] };
  return { id: `${inputs.namespace}/${inputs.cronJob}`, outs };
}

export async function updateRestore(olds: RestoreOutputs, news: RestoreInputs, limits?: Partial<TaskLimits>) {
  const restores = news.backup !== "" && news.backup !== olds.backup;
  return {
    outs: restores ? await restore(news, limits) : { ...news, restored: olds.restored, tables: olds.tables },
  };
}

/**
 * Runs restore.sh (the chart's) in a Job made from the backup CronJob's template: pg_restore of the backup in one
 * transaction, so that a restore that fails changes nothing. Then the bookkeeping, restored with the tables, is
 * bound to them, so that the next load and refresh take them as sales-db's.
 */
async function restore(inputs: RestoreInputs, limits: Partial<TaskLimits> = {}): Promise<RestoreOutputs> {
  const log = await runJobFromCronJob(
    {
      namespace: inputs.namespace,
      cronJob: inputs.cronJob,
      // Unique per run: a Job's spec cannot change, and a failed one stays a day for its log.
      name: `${inputs.cronJob.slice(0, 40)}-restore-${Date.now().toString(36)}`,
      command: ["sh", "/scripts/restore.sh"],
      env: { BACKUP_NAME: inputs.backup },
      what: `restore of backup ${inputs.backup}`,
      context: inputs.context,
    },
    { runMs: inputs.timeoutSeconds * 1000, requestMs: 10_000, pollMs: 1_000, ...limits },
  ).catch((error: unknown) => {
    if (error instanceof Error) {
      error.message += "; the restore runs in one transaction, so the database is as it was";
    }
    return Promise.reject(error);
  });
  const restored = log.map((line) => /^restored (\S+)$/.exec(line)?.[1]).find(Boolean) ?? inputs.backup;
  const tables = await withDatabase(inputs, inputs.password, async (connection) => {
    const client = await connectWithRetry(connection);
    try {
      return await adoptRestored(client);
    } finally {
      await client.end();
    }
  });
  return { ...inputs, restored, tables };
}

/** What the BackupRestore resource's serialized provider calls (restore-resource.ts). */
export const restoreProvider: pulumi.dynamic.ResourceProvider<RestoreInputs, RestoreOutputs> = {
  check: async (_olds, news) => ({ inputs: news }),
  diff: async (_id, olds, news) => diffRestore(olds, news),
  create: (inputs) => createRestore(inputs),
  update: (_id, olds, news) => updateRestore(olds, news),
};
