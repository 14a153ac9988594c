// A child process's entry (see hash-ahead.ts): `node hash-child.js FILE` prints the sha256 of FILE as JSON, with
// the inode, size and modification time it saw, while the command that started it loads its modules and connects.
// It exits when it has answered, when it is sent SIGTERM, or when its stdin closes (its parent went away).
import { open } from "node:fs/promises";
import { sha256OfHandle } from "./file-hash";

/** The file the hash is of, as the child's own handle saw it: the command uses the hash only for that file. */
export interface HashedFile {
  readonly sha256: string;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The hash, or why there is none (the command then hashes on its own). */
export type HashAnswer = HashedFile | { readonly skipped: string };

async function hash(file: string): Promise<HashAnswer> {
  const handle = await open(file, "r");
  try {
    const { dev, ino, size, mtimeMs } = await handle.stat();
    return { sha256: await sha256OfHandle(handle), dev, ino, size, mtimeMs };
  } finally {
    await handle.close();
  }
}

if (require.main === module) {
  process.stdin.on("end", () => process.exit(0)).resume();
  hash(process.argv[2] ?? "")
    .catch((error: unknown): HashAnswer => ({ skipped: String(error) }))
    .then((answer) => process.stdout.write(JSON.stringify(answer), () => process.exit(0)));
}
