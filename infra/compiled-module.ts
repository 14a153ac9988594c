import type * as pulumi from "@pulumi/pulumi";

/**
 * Loads a compiled module of the project (`dist/…`, relative to the project root), found above the provider host's
 * working directory. Dynamic providers are serialized into the state as source: their methods call this to reach
 * the plain, tested functions that do the work, and capture nothing large.
 */
export function compiledModule<T>(relativePath: string): T {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const path = require("node:path");
  const fs = require("node:fs");
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, relativePath);
    if (fs.existsSync(candidate)) return require(candidate) as T;
    if (path.dirname(dir) === dir)
      throw new Error(`${relativePath} not found above ${process.cwd()}: run npm run build`);
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * A dynamic provider whose check, diff, create and update call those of the provider object `exportName` of a
 * compiled module: what is serialized is these few lines and the two names, never the work.
 */
export function delegatingProvider<I, O>(
  relativePath: string,
  exportName: string,
): pulumi.dynamic.ResourceProvider<I, O> {
  type Provider = Required<pulumi.dynamic.ResourceProvider<I, O>>;
  const target = (): Provider => compiledModule<Record<string, Provider>>(relativePath)[exportName]!;
  return {
    check: (olds, news) => target().check(olds, news),
    diff: (id, olds, news) => target().diff(id, olds, news),
    create: (inputs) => target().create(inputs),
    update: (id, olds, news) => target().update(id, olds, news),
  };
}

/**
 * A delegating provider whose `delete` is delegated too (the resources whose destroy does work). A function of its
 * own: adding `delete` to every delegating provider would change the serialized source of resources that have none.
 */
export function delegatingProviderWithDelete<I, O>(
  relativePath: string,
  exportName: string,
): pulumi.dynamic.ResourceProvider<I, O> {
  type Provider = Required<pulumi.dynamic.ResourceProvider<I, O>>;
  const target = (): Provider => compiledModule<Record<string, Provider>>(relativePath)[exportName]!;
  return {
    ...delegatingProvider<I, O>(relativePath, exportName),
    delete: (id, props) => target().delete(id, props),
  };
}
