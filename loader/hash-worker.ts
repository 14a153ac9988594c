// A worker thread's entry (see hash-ahead.ts): the sha256 of a file, by its path, while the command's main thread
// loads its modules and connects.
import { open } from "node:fs/promises";
import { parentPort, workerData } from "node:worker_threads";
import { sha256OfHandle } from "./file-hash";

/** The file the hash is of, as the worker's own handle saw it: the command uses the hash only for that file. */
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
  let stopped = false;
  parentPort?.on("message", () => (stopped = true)); // "stop": the command reads the file itself now
  parentPort?.unref(); // listening for it must not keep the worker alive once the hash is done
  const handle = await open(file, "r");
  try {
    const { dev, ino, size, mtimeMs } = await handle.stat();
    const sha256 = await sha256OfHandle(handle, () => stopped);
    return sha256 === null ? { skipped: "stopped" } : { sha256, dev, ino, size, mtimeMs };
  } finally {
    await handle.close();
  }
}

if (parentPort) {
  const port = parentPort;
  hash(workerData as string).then(
    (answer) => port.postMessage(answer),
    (error: unknown) => port.postMessage({ skipped: String(error) } satisfies HashAnswer),
  );
}
