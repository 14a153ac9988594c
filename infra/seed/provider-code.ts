import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { projectRoot } from "../../loader/project";

/**
 * The compiled files the provider runs: its module `entry` (relative to the project root) and what it requires, transitively. A change to them
 * must reach `diff` (it cannot see code otherwise); a change to any other file (the CLI, the program) must not.
 * Fails when any source of the program or the provider is newer than its build: `pulumi` runs dist/, not the
 * sources.
 */
export function providerCodeFiles(entry: string, root = projectRoot()): string[] {
  for (const source of sourceFiles(root)) {
    const built = join(root, "dist", source.replace(/\.ts$/, ".js"));
    // The program and the provider run dist/, so a source newer than its build would silently run old code.
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, source)).mtimeMs) {
      throw new pulumi.RunError(
        `${built} is missing or older than ${source}: run \`npm run build\` before pulumi`,
      );
    }
  }
  return requireGraph(join(root, entry));
}

/** The TypeScript sources of the program and the loader, in every subfolder, relative to `root`. */
export function sourceFiles(root: string): string[] {
  return ["infra", "loader"].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
      .map((file) => join(dir, file)),
  );
}

/** A relative `require("./x")` in compiled CommonJS; packages and node: built-ins are not ours to hash. */
const RELATIVE_REQUIRE = /\brequire\("(\.{1,2}\/[^"]+)"\)/g;

/** The compiled module `entry` and every module it requires by a relative path, transitively, sorted. */
export function requireGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, target] of readFileSync(file, "utf8").matchAll(RELATIVE_REQUIRE)) {
      const base = resolve(dirname(file), target!);
      visit(
        [base, `${base}.js`, join(base, "index.js")].find(
          (path) => existsSync(path) && statSync(path).isFile(),
        )!,
      );
    }
  };
  visit(entry);
  return [...seen].sort();
}

/** sha256 over the files' contents, streamed so that a large CSV is never held in memory. */
export async function sourceHash(files: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const file of files) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    hash.update("\0");
  }
  return hash.digest("hex");
}
