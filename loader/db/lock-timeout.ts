// Its own module so that the command line's parser can use it without loading pg (see cli/options.ts).

/** The longest lock wait PostgreSQL accepts (lock_timeout is an int of milliseconds). */
export const MAX_LOCK_TIMEOUT_MS = 2_147_483_647;

/** The lock wait to use, in whole milliseconds, from the requested one (default 60 s). */
export function lockTimeoutMs(options: { readonly lockTimeoutMs?: number }): number {
  return Math.min(MAX_LOCK_TIMEOUT_MS, Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000)));
}
