import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { printable, SalesDbError } from "../../errors";

/**
 * Where libpq looks for pg_service.conf when PGSYSCONFDIR is not set: its build's sysconfdir, which for the libpq of
 * Debian and Ubuntu (and the PostgreSQL images built on them) is this folder.
 */
export const DEFAULT_SYSCONFDIR = "/etc/postgresql-common";
/** A service file is a few lines: a larger one is the wrong file. */
const MAX_BYTES = 1 << 20;

/**
 * The settings of connection service `service`, as libpq reads them (fe-connect.c, parseServiceInfo): from the
 * user's file (PGSERVICEFILE, else ~/.pg_service.conf) when it defines the service, else from the system's
 * (PGSYSCONFDIR/pg_service.conf); a missing file is skipped. In the file: `[service]` sections of `key=value`
 * lines, whitespace around a line ignored (not around `=`), `#` comments; the first section of that name is read
 * to the next section. `known` tells the keys that are allowed; any other is an error naming the file and line,
 * as libpq's "syntax error" is.
 */
export function serviceSettings(
  service: string,
  known: (key: string) => boolean,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const user = env.PGSERVICEFILE ?? join(homedir(), ".pg_service.conf");
  const system = join(env.PGSYSCONFDIR ?? DEFAULT_SYSCONFDIR, "pg_service.conf");
  for (const file of [user, system]) {
    const settings = readService(file, service, known);
    if (settings) return settings;
  }
  throw new SalesDbError(
    "usage",
    `definition of service "${printable(service)}" not found (looked in ${printable(user)} and ${printable(system)})`,
  );
}

/** The service's settings in `file`, or null when the file does not exist or does not define it. */
function readService(
  file: string,
  service: string,
  known: (key: string) => boolean,
): Record<string, string> | null {
  let text: string;
  try {
    if (!statSync(file).isFile()) return null;
    if (statSync(file).size > MAX_BYTES) throw invalid(file, 0, `larger than ${MAX_BYTES >> 20} MiB`);
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof SalesDbError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new SalesDbError(
      "usage",
      `service file "${printable(file)}" cannot be read (${(error as Error).message})`,
    );
  }
  let settings: Record<string, string> | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("[")) {
      if (settings) return settings; // the end of the service's section
      if (line.startsWith(`[${service}]`)) settings = {};
      continue;
    }
    if (!settings) continue;
    const equals = line.indexOf("=");
    if (equals < 0) throw invalid(file, i + 1, "a line of the service is not key=value");
    const key = line.slice(0, equals);
    if (key === "service") throw invalid(file, i + 1, "nested service specifications are not supported");
    if (!known(key)) throw invalid(file, i + 1, `unsupported parameter "${printable(key)}"`);
    settings[key] ??= line.slice(equals + 1);
  }
  return settings;
}

function invalid(file: string, line: number, reason: string): SalesDbError {
  const at = line > 0 ? `, line ${line}` : "";
  return new SalesDbError("usage", `syntax error in service file "${printable(file)}"${at}: ${reason}`);
}
