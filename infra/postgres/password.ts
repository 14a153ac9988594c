import * as pulumi from "@pulumi/pulumi";

/**
 * A password generated once, at create, and kept in the state as a secret. `@pulumi/random`'s RandomPassword would
 * be the usual choice, but its provider module is not served by the Go module proxy (docs/decisions.md), so the e2e
 * could not build it; this is the same idea in a few lines of a dynamic provider.
 */
const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    const { randomBytes, randomUUID } = await import("node:crypto");
    // 24 random bytes: 192 bits, 32 characters of base64url, nothing a shell, URL or YAML file must quote.
    return {
      id: randomUUID(),
      outs: { generation: inputs.generation, result: randomBytes(24).toString("base64url") },
    };
  },
  // A new password only when asked for one (a higher generation); RolePassword applies it to the database.
  async diff(_id, olds, news) {
    return { changes: (olds.generation ?? 0) !== (news.generation ?? 0) };
  },
  async update(_id, olds, news) {
    if ((olds.generation ?? 0) === (news.generation ?? 0)) return { outs: olds };
    const { randomBytes } = await import("node:crypto");
    return { outs: { generation: news.generation, result: randomBytes(24).toString("base64url") } };
  },
};

export interface GeneratedPasswordArgs {
  /** Raise it for a new password (the first is generation 0). */
  readonly generation: number;
}

/** The generated password; its `result` is a secret output, encrypted in the state and in no other output. */
export class GeneratedPassword extends pulumi.dynamic.Resource {
  declare readonly result: pulumi.Output<string>;

  constructor(name: string, args: GeneratedPasswordArgs, opts?: pulumi.CustomResourceOptions) {
    // Type token: pulumi-nodejs:dynamic/password:GeneratedPassword.
    super(
      provider,
      name,
      { generation: args.generation, result: undefined },
      { ...opts, additionalSecretOutputs: ["result"] },
      "password",
      "GeneratedPassword",
    );
  }
}
