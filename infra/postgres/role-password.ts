import * as pulumi from "@pulumi/pulumi";
import { delegatingProvider } from "../compiled-module";
import type { DatabaseTarget } from "../database/target";
import type { RolePasswordInputs, RolePasswordOutputs } from "./rotation";

/** The compiled provider, relative to the project root (not exported: it is serialized). */
const PROVIDER_MODULE = "dist/infra/postgres/rotation.js";

const provider = delegatingProvider<RolePasswordInputs, RolePasswordOutputs>(
  PROVIDER_MODULE,
  "rolePasswordProvider",
);

export interface RolePasswordArgs {
  /** The role, which the stack logs in as. */
  readonly user: string;
  /** A database the role may connect to. */
  readonly database: string;
  /** The password the role must have; a secret. */
  readonly password: pulumi.Input<string>;
  /** How to reach PostgreSQL. */
  readonly target: pulumi.Input<DatabaseTarget>;
  /** How long to wait for the pod and the server. */
  readonly waitTimeoutSeconds: number;
}

/**
 * The password of the running database's role. PostgreSQL takes `POSTGRES_PASSWORD` only when it initialises an
 * empty volume: a changed password is applied here, with `ALTER ROLE`, before the Secret changes. `password` is a
 * secret output: the state keeps the one the role has, which the next rotation connects with.
 */
export class RolePassword extends pulumi.dynamic.Resource {
  declare readonly password: pulumi.Output<string>;
  /** True in a preview that changes the role's password. */
  declare readonly rotates: pulumi.Output<boolean>;

  constructor(name: string, args: RolePasswordArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof RolePasswordInputs, unknown> = {
      user: args.user,
      database: args.database,
      password: pulumi.secret(args.password),
      target: args.target,
      waitTimeoutSeconds: args.waitTimeoutSeconds,
      rotates: undefined,
    };
    // Type token: pulumi-nodejs:dynamic/postgres:RolePassword.
    super(
      provider,
      name,
      inputs,
      { ...opts, additionalSecretOutputs: ["password"] },
      "postgres",
      "RolePassword",
    );
  }
}
