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
