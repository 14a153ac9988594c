import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The folder holding package.json above `from`: the project root, whether code runs from its sources (ts-node)
 * or from dist/, and whatever the working directory.
 */
export function projectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
