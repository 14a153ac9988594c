import { spawn } from "node:child_process";
import { join } from "node:path";
import type { HashAnswer, HashedFile } from "./hash-child";
import { projectRoot } from "../project";

/** A hash under way in a child process: what it found (null if it gave up), and how to stop it. */
export interface AheadHash {
  readonly answer: Promise<HashedFile | null>;
  stop(): void;
}

/** The compiled child, whether this module runs from dist/ or from its source (tests). */
const HASH_CHILD = join(projectRoot(), "dist", "loader", "input", "hash-child.js");

/**
 * Hashes `file` in a child process, so that the command can load its modules (pg, yaml, the loader: about 0.1 s),
 * read its rules and connect meanwhile: an unchanged reload needs nothing else (docs/decisions.md). A process,
 * not a worker thread: a thread's memory stays in the command's (a full load peaked 15 to 30 MB higher), while the
 * child has exited before a load's memory peaks. Any failure gives null, never an error, and the command hashes the
 * file itself. Neither the child nor its pipes keep the command alive, and the child ends when the command does.
 */
export function hashAhead(file: string): AheadHash {
  // An empty environment: the child needs none of it, neither the connection string nor Node's options.
  const child = spawn(process.execPath, [HASH_CHILD, file], { stdio: ["pipe", "pipe", "ignore"], env: {} });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
  child.unref();
  for (const pipe of [child.stdin, child.stdout] as unknown as { unref(): void }[]) pipe.unref();
  const answer = new Promise<HashedFile | null>((resolve) => {
    child.once("error", () => resolve(null));
    child.once("close", (code) => {
      try {
        const found = (code === 0 ? JSON.parse(out) : {}) as HashAnswer;
        resolve("sha256" in found ? found : null);
      } catch {
        resolve(null);
      }
    });
  });
  return { answer, stop: () => void child.kill() };
}
