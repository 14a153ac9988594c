import type { Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { describe, printable, SalesDbError } from "../errors";
import { sha256OfHandle } from "./file-hash";
import type { AheadHash } from "./hash-ahead";
import type { HashedFile } from "./hash-child";

/**
 * An input file opened and checked before any database work: a missing, unreadable or directory path fails here,
 * and a FIFO without a writer blocks here, holding no connection, transaction or lock.
 */
export interface Input {
  readonly file: string;
  /** A regular file can be read twice (a hash, then the load) and has a size. */
  readonly regular: boolean;
  readonly size: number;
  /** A fresh stream over the whole input; a non-regular input (FIFO, device) can be streamed once only. */
  stream(): NodeJS.ReadableStream;
  /** sha256 of the input's bytes (regular files only). */
  sha256(): Promise<string>;
  /** Whether a child process hashes this very file (see hash-ahead.ts): a reader of the stream need not. */
  readonly hashedAhead: boolean;
  /**
   * After a stream of a file hashed ahead has been read: sha256 of the bytes it gave, which are the file's as long
   * as the file is unchanged since it was opened (same size and modification time); null when it changed.
   */
  sha256OfStreamed(): Promise<string | null>;
  /** A one-line file error for an error this input's streams raised; anything else unchanged. */
  readError(error: unknown): unknown;
  close(): Promise<void>;
}

/** Read size: large reads keep the per-chunk overhead low. */
const HIGH_WATER_MARK = 256 * 1024;

/**
 * Opens `file`. `ahead`: a hash of the same path already under way (see hash-ahead.ts), used if it is of the very
 * file opened here (also for the bytes a full load streams), and stopped when the input is closed.
 */
export async function openInput(file: string, what = "CSV file", ahead?: AheadHash | null): Promise<Input> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    throw unreadable(file, what, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw new SalesDbError(
        "file_unreadable",
        `${printable(file)}: cannot read ${what} (it is a directory)`,
        {
          file,
        },
      );
    }
    const regular = stats.isFile();
    let streamed = false;
    const readErrors = new WeakSet<object>();
    const openStream = () => {
      if (!regular && streamed) throw new Error(`${file} can be read only once`);
      streamed = true;
      const input = handle.createReadStream({
        highWaterMark: HIGH_WATER_MARK,
        autoClose: false,
        ...(regular ? { start: 0 } : {}),
      });
      return input.on("error", (error) => readErrors.add(error));
    };
    const sha256 = async () => {
      try {
        const found = regular ? await ahead?.answer : null;
        if (found && sameFile(found, stats)) return found.sha256;
        return await sha256OfHandle(handle);
      } catch (error) {
        throw unreadable(file, what, error);
      }
    };
    return {
      file,
      regular,
      size: stats.size,
      // The child goes on while the file is streamed: it hashes on the other core, mostly while this process still
      // loads its modules and connects, instead of the stream's reader hashing every chunk as it passes.
      stream: openStream,
      sha256,
      hashedAhead: regular && ahead !== null && ahead !== undefined,
      async sha256OfStreamed() {
        const now = await handle.stat().catch(() => null);
        return now && now.size === stats.size && now.mtimeMs === stats.mtimeMs ? sha256() : null;
      },
      readError: (error) =>
        error instanceof Object && readErrors.has(error) ? unreadable(file, what, error) : error,
      close: () => {
        ahead?.stop();
        return handle.close().catch(() => undefined);
      },
    };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** Whether a hash ahead is of the very file `stats` describes: same inode, size and modification time. */
function sameFile(found: HashedFile, stats: Stats): boolean {
  return (
    found.dev === stats.dev &&
    found.ino === stats.ino &&
    found.size === stats.size &&
    found.mtimeMs === stats.mtimeMs
  );
}

function unreadable(file: string, what: string, error: unknown): SalesDbError {
  return new SalesDbError("file_unreadable", `${printable(file)}: cannot read ${what} (${describe(error)})`, {
    file,
    cause: error,
  });
}

/**
 * Reads at most `limit` bytes of a small file (a rules file): a larger one, or an endless device, is refused
 * without being read whole.
 */
export async function readBounded(file: string, limit: number, what: string): Promise<Buffer> {
  const input = await openInput(file, what);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of input.stream()) {
        total += (chunk as Buffer).length;
        if (total > limit) break;
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      throw input.readError(error);
    }
    if (total > limit) {
      throw new SalesDbError(
        "too_large",
        `${printable(file)}: ${what} is larger than the ${limit >> 10} KiB limit; is this the right file?`,
        { file },
      );
    }
    return Buffer.concat(chunks);
  } finally {
    await input.close();
  }
}
