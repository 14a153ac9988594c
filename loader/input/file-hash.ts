import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";

/** Read size of the hash: large positioned reads keep the per-call overhead low. */
const HASH_READ_SIZE = 4 << 20;

/**
 * sha256 of an open file's bytes, in large positioned reads with the next one under way while this one is hashed:
 * reading and hashing overlap (measured 0.25 s for a 170 MB file with one buffer, read then hash; about 0.13 s like
 * this).
 */
export async function sha256OfHandle(handle: FileHandle): Promise<string> {
  const hash = createHash("sha256");
  let [current, next] = [Buffer.allocUnsafe(HASH_READ_SIZE), Buffer.allocUnsafe(HASH_READ_SIZE)];
  let reading = handle.read(current, 0, current.length, 0);
  for (let position = 0; ;) {
    const { bytesRead } = await reading;
    if (bytesRead === 0) break;
    position += bytesRead;
    reading = handle.read(next, 0, next.length, position);
    hash.update(current.subarray(0, bytesRead));
    [current, next] = [next, current];
  }
  return hash.digest("hex");
}
