// The RolePassword provider's work, as plain functions (role-password.ts is the resource): bring the running
// database's role to the stack's password, from whichever password the stack knows it has now.
import type * as pulumi from "@pulumi/pulumi";
import { SalesDbError } from "../../loader/errors";
import { connectWithRetry } from "../../loader/db/connection/connect";
import { passwordUnlessGone, withDatabase, type DatabaseConnection } from "../database/connect";
import type { DatabaseAccess } from "../database/target";
import { scramSecret } from "./scram";

export interface RolePasswordInputs extends DatabaseAccess {
  /** Secret: the password the role must have. */
  readonly password: string;
  /** Set by `check`: this `up` changes the role's password (the preview says so, without either password). */
  readonly rotates?: boolean;
}

/** The outputs: the inputs, the password (a secret output) included, so that the next rotation starts from it. */
export type RolePasswordOutputs = RolePasswordInputs;

export function checkRolePassword(
  olds: Partial<RolePasswordInputs>,
  news: RolePasswordInputs,
): { inputs: RolePasswordInputs } {
  return { inputs: { ...news, rotates: olds.password !== undefined && olds.password !== news.password } };
}

/** An update when the password or where the role lives changed; `rotates` only informs the preview. */
export function diffRolePassword(
  olds: RolePasswordOutputs,
  news: RolePasswordInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const where = (access: DatabaseAccess) =>
    JSON.stringify([access.target, access.database, access.user, access.waitTimeoutSeconds]);
  return {
    changes: olds.password !== news.password || where(olds) !== where(news),
    replaces: [],
    deleteBeforeReplace: false,
  };
}

/**
 * `create`: a new database takes the password from the Secret at its first start, so there is nothing to do,
 * unless the Secret already holds another password (a stack whose database predates this resource): then the
 * role is brought from that one to this.
 */
export async function createRolePassword(
  inputs: RolePasswordInputs,
): Promise<{ id: string; outs: RolePasswordOutputs }> {
  const current = inputs.target.mode === "port-forward" ? await passwordUnlessGone(inputs) : null;
  if (current !== null && current !== inputs.password) await converge(inputs, [current]);
  return { id: `${inputs.user}@${inputs.database}`, outs: { ...inputs, rotates: false } };
}

/**
 * `update`: `ALTER ROLE`, through a connection made with the password the role has: the state's, else the
 * Secret's. When the new one works already (an earlier `up` stopped after the change), nothing is altered.
 */
export async function updateRolePassword(
  olds: RolePasswordOutputs,
  news: RolePasswordInputs,
): Promise<{ outs: RolePasswordOutputs }> {
  if (olds.password !== news.password) {
    const secret = news.target.mode === "port-forward" ? await passwordUnlessGone(news) : null;
    await converge(news, [olds.password, ...(secret === null ? [] : [secret])]);
  }
  return { outs: { ...news, rotates: false } };
}

/** Gives the role `access.password`, connecting with it or else with each of `known` in turn. */
async function converge(access: RolePasswordInputs, known: readonly string[]): Promise<void> {
  if (await logsIn(access, access.password)) return;
  for (const password of new Set(known.filter((candidate) => candidate !== access.password))) {
    const altered = await withDatabase(access, password, (connection) =>
      alterRole(connection, access.password),
    ).catch((error: unknown) => (isAuthFailure(error) ? false : Promise.reject(error)));
    if (altered === false) continue;
    if (await logsIn(access, access.password)) return;
    throw new SalesDbError(
      "db_auth",
      `PostgreSQL took the new password of user ${access.user} but refuses it at login: ` +
        "check pg_hba.conf's method for the stack's connections (scram-sha-256 or md5)",
    );
  }
  throw new SalesDbError(
    "db_auth",
    `PostgreSQL refused every password this stack knows for user ${access.user} (the new one, the one in the ` +
      "state, the Secret's), so the role keeps its own and nothing was changed: set dbPassword to the password " +
      "the role has now (pulumi config set --secret dbPassword …) and run pulumi up, then set the new one",
  );
}

async function logsIn(access: DatabaseAccess, password: string): Promise<boolean> {
  return withDatabase(access, password, async (connection) => {
    const client = await connectWithRetry(connection);
    await client.end();
    return true;
  }).catch((error: unknown) => (isAuthFailure(error) ? false : Promise.reject(error)));
}

/** `ALTER ROLE CURRENT_USER`: the role the stack logs in as, with the SCRAM secret of the password, never the password. */
async function alterRole(connection: DatabaseConnection, password: string) {
  const client = await connectWithRetry(connection);
  try {
    await client.query(`ALTER ROLE CURRENT_USER PASSWORD ${client.escapeLiteral(scramSecret(password))}`);
    return true;
  } finally {
    await client.end();
  }
}

function isAuthFailure(error: unknown): boolean {
  return error instanceof SalesDbError && error.code === "db_auth";
}

/** What the RolePassword resource's serialized provider calls (role-password.ts). */
export const rolePasswordProvider: pulumi.dynamic.ResourceProvider<RolePasswordInputs, RolePasswordOutputs> =
  {
    check: async (olds, news) => checkRolePassword(olds, news),
    diff: async (_id, olds, news) => diffRolePassword(olds, news),
    create: createRolePassword,
    update: (_id, olds, news) => updateRolePassword(olds, news),
  };
