import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export const SAMPLE_CSV = "data/sales.csv";
export const SAMPLE_RULES = "data/config.yaml";

/** A scratch folder per test file, removed by `cleanup`. */
export interface Scratch {
  readonly dir: string;
  write(name: string, content: string | Buffer): Promise<string>;
  /** A named pipe with no writer yet. */
  fifo(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), "sales-db-test-"));
  return {
    dir,
    async write(name, content) {
      const file = join(dir, name);
      await writeFile(file, content);
      return file;
    },
    async fifo(name) {
      const file = join(dir, name);
      await run("mkfifo", [file]);
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Registers a scratch folder for the describe block; the returned function gives it inside tests. */
export function scratchFiles(): () => Scratch {
  let files: Scratch | undefined;
  before(async () => (files = await scratch()));
  after(() => files?.cleanup());
  return () => {
    if (!files) throw new Error("scratch files are used outside a test");
    return files;
  };
}

/** A CSV of the sales header and `rows` (each a line such as `Halal Tea,12.50,4`). */
export function csv(...rows: string[]): string {
  return ["product,price,quantity", ...rows].map((line) => `${line}\n`).join("");
}

/** `count` valid rows; row i is `Halal Item i, 10.00 + i%1000, 1 + i%100`. */
export function validRows(count: number, header = "product,price,quantity\n"): string {
  const lines = [header];
  for (let i = 0; i < count; i++) lines.push(`Halal Item ${i},${10 + (i % 1000)}.50,${1 + (i % 100)}\n`);
  return lines.join("");
}

/** The sha256 of `bytes`, in hex, as the loader reports it. */
export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}
