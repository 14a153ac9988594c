import * as pulumi from "@pulumi/pulumi";
import { existsSync } from "node:fs";
import { compiledModule } from "../compiled-module";
import { projectPath } from "./project-path";
import { providerCodeFiles, sourceHash } from "./provider-code";
import type { SeedInputs, SeedOutputs, SeedTarget, SeedValidation } from "./types";

/** Where the compiled provider functions live, relative to the project root (not exported: it is serialized). */
const PROVIDER_MODULE = "dist/infra/seed/provider.js";

/**
 * The provider is serialized into the state as source, so its methods are thin adapters that load the compiled
 * provider functions at run time: nothing large is captured, and the real work stays in plain, tested functions.
 */
const provider: pulumi.dynamic.ResourceProvider<SeedInputs, SeedOutputs> = {
  async check(olds, news) {
    return providerFunctions().checkSeed(olds, news);
  },
  async diff(_id, olds, news) {
    return providerFunctions().diffSeed(olds, news);
  },
  async create(inputs) {
    return providerFunctions().createSeed(inputs);
  },
  async update(_id, olds, news) {
    return providerFunctions().updateSeed(olds, news);
  },
  async read(id, props) {
    return providerFunctions().readSeed(id, props);
  },
  async delete(_id, props) {
    await providerFunctions().deleteSeed(props);
  },
};

function providerFunctions(): typeof import("./provider") {
  return compiledModule(PROVIDER_MODULE);
}

export interface SalesSeedArgs {
  /** CSV to seed from, relative to the project root unless absolute. */
  readonly csv: string;
  /** Validation rules, relative to the project root unless absolute. */
  readonly rules: string;
  /** Target table, optionally `schema.table`. */
  readonly table: string;
  /** Database name. */
  readonly database: pulumi.Input<string>;
  /** Database user. */
  readonly user: pulumi.Input<string>;
  /** The password, as a Pulumi secret. It is an input only: no output holds it. */
  readonly password: pulumi.Input<string>;
  /** How to reach the database: a port-forward to the pod, or a direct host. */
  readonly target: pulumi.Input<SeedTarget>;
  /** Fail when more than this share (0..1) of the rows is rejected. Default: no limit. */
  readonly maxRejectedShare?: number;
  /** How long to wait for the pod to be Ready and PostgreSQL to accept connections. */
  readonly waitTimeoutSeconds: number;
  /** Keep the table on `pulumi destroy` (for a retained volume). Default false: destroy drops it. */
  readonly keepTableOnDelete?: boolean;
}

/** Validates the CSV (at preview, in `check`) and loads the valid rows (at `up`), through the loader. */
export class SalesSeed extends pulumi.dynamic.Resource {
  declare readonly validation: pulumi.Output<SeedValidation>;
  declare readonly rowCount: pulumi.Output<number>;
  declare readonly table: pulumi.Output<string>;

  constructor(name: string, args: SalesSeedArgs, opts?: pulumi.CustomResourceOptions) {
    for (const [what, path] of [
      ["CSV", args.csv],
      ["rules", args.rules],
    ]) {
      if (!existsSync(projectPath(path as string))) {
        throw new pulumi.RunError(
          `SalesSeed ${name}: no ${what} file at ${path} (paths are relative to the project root)`,
        );
      }
    }
    const inputs: Record<keyof SeedInputs, unknown> = {
      csv: args.csv,
      rules: args.rules,
      table: args.table,
      database: args.database,
      user: args.user,
      password: pulumi.secret(args.password),
      target: args.target,
      maxRejectedShare: args.maxRejectedShare,
      waitTimeoutSeconds: args.waitTimeoutSeconds,
      keepTableOnDelete: args.keepTableOnDelete ?? false,
      sourceHash: pulumi.output(
        sourceHash([projectPath(args.csv), projectPath(args.rules), ...providerCodeFiles(PROVIDER_MODULE)]),
      ),
      // Set by check; declared here so that they are outputs too.
      validation: undefined,
      rowCount: undefined,
      loadReason: undefined,
    };
    // Type token: pulumi-nodejs:dynamic/seed:SalesSeed.
    super(provider, name, inputs, opts, "seed", "SalesSeed");
  }
}
