import { ProviderResource } from "@pulumi/pulumi/resource";

/** Pulumi's own resource provider for dynamic resources: the host that runs their serialized providers. */
class DynamicProviderHost extends ProviderResource {}

/**
 * The host that serves this program's dynamic resources (the seed, the generated password), registered as an
 * explicit provider so that the program can register it first: the engine starts a provider's process when the
 * provider is registered, and starting this one (a Node process that loads `@pulumi/pulumi`) takes about 0.8 s.
 * A default provider would start only when the seed registers, after the rest of the program.
 *
 * Imports only `@pulumi/pulumi/resource`: the package's root loads TypeScript and arborist (about 0.45 s).
 */
export const dynamicProviderHost = new DynamicProviderHost("pulumi-nodejs", "dynamic-resources", {});
