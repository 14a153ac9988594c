// The program's entry (Pulumi.yaml's `main`). It registers the host of the dynamic resources, lets the
// registration go out, and only then loads the program and its modules (about 0.9 s, `@pulumi/pulumi`'s root and
// `@pulumi/kubernetes`), so that the engine starts the host's process while they load instead of after: a
// preview of one stack took 2.1 to 2.4 s this way against 2.8 to 4.1 s, alternating (docs/decisions.md, "An
// explicit dynamic provider host, registered first").
import { dynamicProviderHost } from "./dynamic-host";

/** Pulumi's runner calls an exported function and takes what it resolves to as the stack's outputs. */
export = async function program(): Promise<typeof import("./stack")> {
  void dynamicProviderHost; // registered when its module loaded
  // One turn of the event loop: the registration's RPC leaves before the synchronous loading below starts.
  await new Promise((resolve) => setImmediate(resolve));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("./stack");
};
