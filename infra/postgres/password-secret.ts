// The stack's password as both database kinds keep it: changed in the running database first (RolePassword), then
// in the Secret that pods and the seed read. The Secret never names a password the role lacks for longer than a
// failed `up`, which the next one converges.
import * as core from "@pulumi/kubernetes/core/v1";
import type * as pulumi from "@pulumi/pulumi";
import type { DatabaseTarget } from "../database/target";
import { RolePassword } from "./role-password";

/** What both database kinds take from the stack for the password (their args carry these fields). */
export interface StackPassword {
  readonly dbUser: string;
  readonly dbName: string;
  /** A secret. */
  readonly password: pulumi.Input<string>;
  readonly waitTimeoutSeconds: number;
  readonly dynamicProvider: pulumi.ProviderResource;
  readonly after: pulumi.Resource[];
  readonly protect?: boolean;
}

export interface PasswordSecretArgs {
  readonly target: DatabaseTarget;
  /** The namespace resource when the stack creates it: the role's change waits for it. */
  readonly namespace?: pulumi.Resource;
  readonly namespaceName: pulumi.Input<string>;
  readonly secretName: string;
  readonly type: string;
  /** The Secret's data, from the password the role has now (a secret output). */
  readonly data: (password: pulumi.Output<string>) => Record<string, pulumi.Input<string>>;
}

/** `<name>-role-password` and `<name>-secret`, children of `parent`. */
export function passwordAndSecret(
  name: string,
  parent: pulumi.Resource,
  database: StackPassword,
  args: PasswordSecretArgs,
): { rolePassword: RolePassword; secret: core.Secret } {
  const rolePassword = new RolePassword(
    `${name}-role-password`,
    {
      user: database.dbUser,
      database: database.dbName,
      password: database.password,
      target: args.target,
      waitTimeoutSeconds: database.waitTimeoutSeconds,
    },
    {
      parent,
      provider: database.dynamicProvider,
      dependsOn: [...database.after, ...(args.namespace ? [args.namespace] : [])],
    },
  );
  const secret = new core.Secret(
    `${name}-secret`,
    {
      metadata: { name: args.secretName, namespace: args.namespaceName },
      type: args.type,
      stringData: args.data(rolePassword.password),
    },
    { parent, protect: database.protect, dependsOn: database.after },
  );
  return { rolePassword, secret };
}
