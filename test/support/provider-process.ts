import { spawn } from "node:child_process";
import { resolve } from "node:path";

/** One call on a provider; an argument `{ $result: i, path }` stands for a field of step i's result. */
export interface ProviderStep {
  method: "check" | "diff" | "create" | "update" | "read" | "delete";
  args: unknown[];
}

/** Runs steps against a serialized provider in a fresh Node process, as the engine's provider host would. */
export function runSerialized(
  source: string,
  steps: ProviderStep[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ results: unknown[]; error?: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve("test/support/run-provider.js")], {
      cwd: resolve("."),
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", () => {
      try {
        done(JSON.parse(stdout));
      } catch {
        fail(new Error(`provider process printed no result: ${stderr}`));
      }
    });
    child.stdin.end(JSON.stringify({ source, steps }));
  });
}
