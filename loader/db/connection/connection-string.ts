import type { ClientConfig } from "pg";
import { parse } from "pg-connection-string";
import { firstLine, SalesDbError } from "../../errors";
import { serviceSettings } from "./service-file";

const USAGE_HINT =
  "expected postgresql://user:password@host:port/database (special characters in the password " +
  "percent-encoded) or key=value pairs such as host=… port=… dbname=… user=…";

/** Keys of libpq's key=value form that node-postgres can honour (and `service`, read here). */
const KEYWORDS = new Set([
  "service",
  "host",
  "hostaddr",
  "port",
  "dbname",
  "user",
  "password",
  "connect_timeout",
  "client_encoding",
  "options",
  "application_name",
  "fallback_application_name",
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
]);
const SSL_KEYS = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/**
 * Parses a connection string in either of libpq's forms into node-postgres settings. Surrounding whitespace is
 * ignored. A service (`service=` in the string, else PGSERVICE) fills in what the string leaves out, from
 * pg_service.conf as libpq finds it (service-file.ts); node-postgres then takes the other PG* variables for what
 * is still unset, in libpq's order. Errors never quote the string: it may hold the password.
 */
export function parseConnectionString(text: string, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const trimmed = text.trim();
  if (trimmed === "") throw invalid("it is empty");
  try {
    if (/^postgres(ql)?:\/\//i.test(trimmed)) return fromUrl(trimmed, env);
    if (/^[a-z_]+\s*=/i.test(trimmed)) return fromSettings(parseKeywords(trimmed), env);
  } catch (error) {
    if (error instanceof SalesDbError) throw error;
    const code = (error as { code?: unknown }).code;
    throw invalid(code === "ERR_INVALID_URL" ? "it is not a valid URL" : firstLine(String(error)), [trimmed]);
  }
  throw invalid("it is neither a postgresql:// URL nor key=value pairs");
}

function fromUrl(url: string, env: NodeJS.ProcessEnv): ClientConfig {
  const parsed = parse(url.replace(/^postgres(ql)?:/i, "postgresql:"), { useLibpqCompat: true }) as Record<
    string,
    unknown
  >;
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === "string" && value !== "") settings[key === "database" ? "dbname" : key] = value;
  }
  return fromSettings(settings, env, parsed.ssl as ClientConfig["ssl"]);
}

function fromSettings(
  given: Record<string, string>,
  env: NodeJS.ProcessEnv,
  ssl?: ClientConfig["ssl"],
): ClientConfig {
  for (const key of Object.keys(given)) {
    if (!KEYWORDS.has(key) && key !== "uselibpqcompat")
      throw invalid(`unsupported parameter "${safeKey(key)}"`);
  }
  const service = given.service ?? env.PGSERVICE;
  const settings = service
    ? { ...serviceSettings(service, (key) => KEYWORDS.has(key), env), ...given }
    : given;
  const port = settings.port === undefined ? undefined : Number(settings.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw invalid("the port must be a number from 1 to 65535");
  }
  const connectTimeout =
    settings.connect_timeout === undefined ? undefined : Number(settings.connect_timeout);
  return {
    host: settings.host ?? settings.hostaddr,
    port,
    database: settings.dbname,
    user: settings.user,
    password: settings.password,
    options: settings.options,
    client_encoding: settings.client_encoding,
    application_name: settings.application_name ?? settings.fallback_application_name,
    connectionTimeoutMillis: connectTimeout && connectTimeout > 0 ? connectTimeout * 1000 : undefined,
    ssl: ssl ?? sslFor(settings),
  };
}

/** The TLS settings libpq's sslmode and certificate keys ask for, as pg-connection-string maps them. */
function sslFor(settings: Record<string, string>): ClientConfig["ssl"] {
  const query = new URLSearchParams();
  for (const key of SSL_KEYS) if (settings[key] !== undefined) query.set(key, settings[key] as string);
  if ([...query.keys()].length === 0) return undefined;
  return parse(`postgresql://localhost/?${query.toString()}`, { useLibpqCompat: true })
    .ssl as ClientConfig["ssl"];
}

/** libpq's key=value grammar: `key = value` pairs, values bare or in single quotes with \' and \\ escapes. */
function parseKeywords(text: string): Record<string, string> {
  const settings: Record<string, string> = {};
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  while (true) {
    skipSpace();
    if (i >= text.length) return settings;
    const key = /^[A-Za-z_]+/.exec(text.slice(i))?.[0];
    if (!key) throw invalid("a key=value pair has no key");
    i += key.length;
    skipSpace();
    if (text[i] !== "=") throw invalid(`"${safeKey(key)}" has no "=" after it`);
    i++;
    skipSpace();
    let value = "";
    if (text[i] === "'") {
      for (i++; ; i++) {
        if (i >= text.length) throw invalid(`the quoted value of "${safeKey(key)}" never closes`);
        const c = text[i] as string;
        if (c === "'") break;
        if (c === "\\" && i + 1 < text.length) value += text[++i];
        else value += c;
      }
      i++;
    } else {
      for (; i < text.length && !/\s/.test(text[i] as string); i++) {
        const c = text[i] as string;
        value += c === "\\" && i + 1 < text.length ? text[++i] : c;
      }
    }
    settings[key.toLowerCase()] = value;
  }
}

/** A key is echoed only when it is one libpq knows: an unknown "key" may be a pasted password. */
function safeKey(key: string): string {
  return KEYWORDS.has(key.toLowerCase()) ? key : "(unknown key)";
}

function invalid(reason: string, secrets: readonly string[] = []): SalesDbError {
  return new SalesDbError("usage", redact(`invalid database URL: ${reason}; ${USAGE_HINT}`, secrets));
}

/**
 * The strings that must never be printed for this connection string: its password, however it was written
 * (also when the string does not parse), and PGPASSWORD.
 */
export function secretsOf(connectionString: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const found = new Set<string>();
  const add = (value: string | undefined) => {
    if (!value) return;
    found.add(value);
    try {
      found.add(decodeURIComponent(value));
    } catch {
      // not percent-encoded
    }
  };
  try {
    const password = parseConnectionString(connectionString, env).password;
    if (typeof password === "string") add(password);
  } catch {
    // a malformed string: the patterns below still find its password
  }
  // A malformed URL's password: up to the first `@`, and (a password whose `@ : /` were not percent-encoded) up
  // to the last one, since no host holds an `@`.
  add(/^\s*[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@/\s]*)@/i.exec(connectionString)?.[1]);
  add(/^\s*[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:(\S*)@/i.exec(connectionString)?.[1]);
  for (const match of connectionString.matchAll(/password\s*=\s*('(?:\\.|[^'\\])*'?|[^\s&]+)/gi)) {
    const raw = match[1] as string;
    add(raw);
    if (raw.startsWith("'")) add(raw.slice(1, raw.endsWith("'") ? -1 : undefined).replace(/\\(.)/g, "$1"));
  }
  add(env.PGPASSWORD);
  if (env.PGSERVICE) {
    try {
      add(serviceSettings(env.PGSERVICE, () => true, env).password); // also when the string is not given
    } catch {
      // no such service: no password from it
    }
  }
  // Very short "secrets" would blank out ordinary words; a password that short protects nothing anyway.
  return [...found].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  // Text without the secret stays the same string (cheap for the logger's 64 KiB chunks of warnings).
  for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join("***");
  return result;
}

/** `host:port/database` of a connection string, never its password. */
export function describeTarget(connectionString: string): string {
  const config = parseConnectionString(connectionString);
  const host = config.host ?? process.env.PGHOST ?? "localhost";
  return `${host}:${config.port ?? process.env.PGPORT ?? 5432}/${config.database ?? process.env.PGDATABASE ?? ""}`;
}
