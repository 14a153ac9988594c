import type { Client as PgClient } from "pg";

/**
 * pg's Client, with pg loaded so that it does not load Node's fetch. To know whether it runs in a Cloudflare Worker,
 * pg reads `navigator.userAgent`, and where there is no `navigator` (Node 20) it builds a `Response`, whose global
 * loads undici: `require("pg")` took about 85 ms instead of 36, of a command that starts in about 0.25 s. A
 * `navigator` saying Node.js, as Node 21 and later define it, answers the question; it exists only while pg loads.
 */
export type Client = PgClient;
export const Client: typeof PgClient = loadPg().Client;

function loadPg(): typeof import("pg") {
  const global = globalThis as { navigator?: unknown };
  const lent = global.navigator === undefined;
  if (lent) global.navigator = { userAgent: `Node.js/${process.versions.node}` };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("pg") as typeof import("pg");
  } finally {
    if (lent) delete global.navigator;
  }
}
