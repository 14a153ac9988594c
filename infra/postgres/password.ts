import * as pulumi from "@pulumi/pulumi";

/**
 * A password generated once, at create, and kept in the state as a secret. `@pulumi/random`'s RandomPassword would
 * be the usual choice, but its provider module is not served by the Go module proxy (docs/decisions.md), so the e2e
 * could not build it; this is the same idea in a few lines of a dynamic provider.
 */
const provider: pulumi.dynamic.ResourceProvider = {
  async create() {
    const { randomBytes, randomUUID } = await import("node:crypto");
    // 24 random bytes: 192 bits, 32 characters of base64url, nothing a shell, URL or YAML file must quote.
    return { id: randomUUID(), outs: { result: randomBytes(24).toString("base64url") } };
  },
  // Never regenerate: the database keeps the password it was initialised with.
  async diff() {
    return { changes: false };
  },
  async update(_id, olds) {
    return { outs: olds };
  },
};

/** The generated password; its `result` is a secret output, encrypted in the state and in no other output. */
export class GeneratedPassword extends pulumi.dynamic.Resource {
  declare readonly result: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    // Type token: pulumi-nodejs:dynamic/password:GeneratedPassword.
    super(
      provider,
      name,
      { result: undefined },
      { ...opts, additionalSecretOutputs: ["result"] },
      "password",
      "GeneratedPassword",
    );
  }
}
