import { statSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { parseCommandLine } from "./cli-options";
import type { HashAnswer, HashedFile } from "./hash-worker";
import { projectRoot } from "./project";

/** A CSV at least this large is hashed ahead for a load (32 MiB: about 25 ms of hashing, more than a worker costs). */
export const HASH_AHEAD_FROM = 32 << 20;

/** A hash under way in a worker thread: what it found (null if it gave up), and how to stop it. */
export interface AheadHash {
  readonly answer: Promise<HashedFile | null>;
  stop(): void;
}

/** The compiled worker, whether this module runs from dist/ or from its source (tests). */
const HASH_WORKER = join(projectRoot(), "dist", "loader", "hash-worker.js");

/**
 * Hashes `file` in a worker thread, so that the command can load its modules (pg, yaml, the loader: about 0.1 s),
 * read its rules and connect meanwhile: an unchanged reload needs nothing else (README, Performance). Any failure
 * gives null, never an error, and the command hashes the file itself. The worker never keeps the process alive.
 */
export function hashAhead(file: string): AheadHash {
  const worker = new Worker(HASH_WORKER, { workerData: file });
  worker.unref();
  const answer = new Promise<HashedFile | null>((resolve) => {
    worker.once("message", (found: HashAnswer) => resolve("sha256" in found ? found : null));
    worker.once("error", () => resolve(null));
    worker.once("exit", () => resolve(null));
  });
  return { answer, stop: () => worker.postMessage("stop") };
}

/**
 * For the launcher, before it loads the command: the hash of a `load`'s CSV, when it is a regular file of at least
 * HASH_AHEAD_FROM bytes; null for anything else (the command reports any usage error itself).
 */
export function hashAheadForCommand(argv: readonly string[], env: NodeJS.ProcessEnv): AheadHash | null {
  try {
    const line = parseCommandLine(argv, env);
    if (line.command !== "load") return null;
    const stats = statSync(line.csv);
    return stats.isFile() && stats.size >= HASH_AHEAD_FROM ? hashAhead(line.csv) : null;
  } catch {
    return null;
  }
}
