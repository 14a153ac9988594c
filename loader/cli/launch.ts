import { statSync } from "node:fs";
import { hashAhead, type AheadHash } from "../input/hash-ahead";
import { parseCommandLine } from "./options";

/** A CSV at least this large is hashed ahead for a load (64 MiB: about 50 ms of hashing, more than a process costs). */
export const HASH_AHEAD_FROM = 64 << 20;

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
