import { isAbsolute, join } from "node:path";
import { projectRoot } from "../../loader/project";

/**
 * A path from stack config, taken relative to the project root unless absolute (Pulumi runs the program from
 * infra/, the provider host from wherever the engine starts it).
 */
export function projectPath(path: string): string {
  return isAbsolute(path) ? path : join(projectRoot(), path);
}
