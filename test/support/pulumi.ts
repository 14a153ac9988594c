import * as pulumi from "@pulumi/pulumi";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** The explicit provider's reference (`urn::id`), if the resource has one. */
  readonly provider?: string;
  /** The names of the resources it depends on directly (its dependsOn, and those of its inputs). */
  readonly dependsOn: string[];
}

/** Resolves an Output in a test (mocks resolve everything, unknowns included, to plain values). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply(done));
}

export const GENERATED_PASSWORD = "pulumi-nodejs:dynamic/password:GeneratedPassword";

/**
 * Runs a Pulumi program (infra/index.ts unless `program` says otherwise) under mocks for one stack's config and returns what it registered
 * and exported. Resource state echoes the inputs (or reports `outputsOf` its type); a Helm release also reports its name and namespace, and a
 * generated password is made by its own serialized provider, as the engine would run it.
 */
export async function runProgram(
  stack: string,
  config: Record<string, string>,
  /** State to report for resources of a type, over the echoed inputs. */
  outputsOf: Record<string, Record<string, unknown>> = {},
  program: Program = STACK_PROGRAM,
): Promise<{ resources: Registered[]; exports: Record<string, pulumi.Output<unknown>> }> {
  const resources: Registered[] = [];
  /** Each registration's direct dependencies (names), which the mocks' arguments leave out. */
  const dependencies = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: args.provider,
          dependsOn: dependencies.get(args.name) ?? [],
        });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "kubernetes:helm.sh/v3:Release") {
          state.status = { name: args.inputs.name, namespace: args.inputs.namespace, status: "deployed" };
        }
        if (args.type === "kubernetes:core/v1:Secret" || args.type === "kubernetes:core/v1:Namespace") {
          state.metadata = args.inputs.metadata;
        }
        if (args.type === GENERATED_PASSWORD) {
          const created = await serializedProvider(args.inputs.__provider as string).create(args.inputs);
          Object.assign(state, created.outs);
        }
        Object.assign(state, outputsOf[args.type]);
        return { id: `${args.name}-id`, state };
      },
      // The ConfigGroup's YAML is decoded by the provider; parsed here as it would be.
      call: (args) =>
        args.token === "kubernetes:yaml:decode"
          ? { result: parseAllDocuments(String(args.inputs.text)).map((doc) => doc.toJSON() as unknown) }
          : args.inputs,
    },
    program.project,
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterRequest, callback: unknown): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    const names = request.getDependenciesList().map((urn) => urn.slice(urn.lastIndexOf("::") + 2));
    dependencies.set(request.getName(), names);
    return register(request, callback);
  };
  const secretKeys = Object.keys(config).filter((key) => key.endsWith(":dbPassword"));
  pulumi.runtime.setAllConfig(config, secretKeys);

  // A fresh copy of the program and its modules for each run, as `pulumi up` would load them.
  const dir = resolve(__dirname, "../..", program.dir);
  const infra = resolve(__dirname, "../../infra");
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(infra) || key.startsWith(dir)) delete require.cache[key];
  }
  // Not named `exports`: that would shadow this module's own, which the compiled code refers to.
  // The program turns source-mapped stacks off for its process; the tests' stacks keep theirs.
  const formatStack = Error.prepareStackTrace;
  // As Pulumi's runner does: an exported function is the program, and what it resolves to the stack's outputs.
  // A program of top-level code (the add-ons) registers as it loads, and its module's exports are the outputs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const entry = require(resolve(dir, "index.ts")) as
    (() => Promise<Record<string, pulumi.Output<unknown>>>) | Record<string, pulumi.Output<unknown>>;
  const stackExports = typeof entry === "function" ? await entry() : entry;
  // A top-level program registers what depends on other resources' outputs after it loads: wait for it.
  for (let waited = 0; program.registered && !program.registered(resources); waited += 50) {
    if (waited > 30_000)
      throw new Error(`${program.dir}: the program did not register what the test waits for`);
    await new Promise((done) => setTimeout(done, 50));
  }
  if (formatStack) Error.prepareStackTrace = formatStack;
  // Every export resolves only once the resources behind it (the seed last) have been registered.
  await valueOf(pulumi.output(stackExports));
  return { resources, exports: stackExports };
}

/** A Pulumi project's program: its folder (holding index.ts) and its project name. */
export interface Program {
  readonly dir: string;
  readonly project: string;
  /** For a program of top-level code: true once it has registered all it will (its exports do not say). */
  readonly registered?: (resources: Registered[]) => boolean;
}
/** The stack's program, infra/index.ts. */
export const STACK_PROGRAM: Program = { dir: "infra", project: "sales-db" };
/** The cluster add-ons' program, addons/index.ts. */
export const ADDONS_PROGRAM: Program = {
  dir: "addons",
  project: "sales-db-addons",
  // The guard comes last: it depends on every object of the manifest.
  registered: (resources) => resources.some((r) => r.type === "pulumi-nodejs:dynamic/addons:ClusterGuard"),
};

/** The part of the engine's RegisterResourceRequest that the mocks read dependencies from. */
interface RegisterRequest {
  getName(): string;
  getDependenciesList(): string[];
}

/** Evaluates a dynamic provider's recorded source, as the engine's provider host does. */
function serializedProvider(source: string): pulumi.dynamic.ResourceProvider {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFromString = require("require-from-string") as (code: string) => { handler(): never };
  return requireFromString(source).handler();
}

export function find(resources: Registered[], type: string): Registered {
  const found = resources.find((resource) => resource.type === type);
  if (!found) throw new Error(`no ${type} among ${resources.map((r) => r.type).join(", ")}`);
  return found;
}

/** Pulumi's marker for a secret value in mock inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** The value inside a secret, or undefined when `value` is not a secret. */
export function secretValue(value: unknown): unknown {
  const record = value as Record<string, unknown> | undefined;
  return record && record[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270" ? record.value : undefined;
}
