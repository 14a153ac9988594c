import { oneLine } from "./errors";

export type LogLevel = "debug" | "info" | "warning" | "error";
const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

export interface Logger {
  /** Whether messages at `level` are written; lets hot paths skip building messages nobody reads. */
  enabled(level: LogLevel): boolean;
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Writes out buffered warnings; call before writing to the same stream directly, and before exiting. */
  flush?(): void;
}

/** `2025-04-25 10:00:00,123`: the timestamp format of Python's logging, which the spec's logs use. */
export function formatTimestamp(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())},` +
    pad(date.getMilliseconds(), 3)
  );
}

/** Characters of warnings gathered before one write. */
const LOG_CHUNK = 64 * 1024;
/** The longest a buffered warning waits, so a slow load still shows its warnings as it goes. */
const LOG_DELAY_MS = 100;

/**
 * Writes `timestamp - LEVEL - message` lines for every message at or above `level`. Warnings (one per rejected
 * row, so up to millions) are gathered into a string and written 64 Ki characters at a time, and their prefix
 * is rebuilt only when the millisecond changes: a write per line (a system call each on a file or pipe) and a Date
 * formatted per line were most of logging's cost. Gathered as a string, not encoded line by line into a buffer: a
 * Buffer.write call per line cost about 0.6 µs, more than the rest of the line's formatting, and the stream
 * encodes 64 Ki characters at once. Other levels write at once, after any buffered warnings, so order is kept.
 */
export function createLogger(level: LogLevel = "info", out: NodeJS.WritableStream = process.stderr): Logger {
  let pending = "";
  let timer: NodeJS.Timeout | undefined;
  let prefixMs = -1;
  let prefixes: Partial<Record<LogLevel, string>> = {};
  const prefix = (at: LogLevel) => {
    const now = Date.now();
    if (now !== prefixMs) {
      prefixMs = now;
      prefixes = {};
    }
    return (prefixes[at] ??= `${formatTimestamp(new Date(now))} - ${at.toUpperCase()} - `);
  };
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    const text = pending;
    pending = "";
    out.write(text);
  };
  const emit = (at: LogLevel) => (message: string) => {
    if (SEVERITY[at] < SEVERITY[level]) return;
    // One entry, one line: a message that holds a line break (a server's output, a name) is joined. Warnings are
    // rejected rows, whose values are quoted as JSON: they hold none, and are spared the scan.
    const text = at !== "warning" && /[\r\n]/.test(message) ? oneLine(message) : message;
    const line = `${prefix(at)}${text}\n`;
    if (pending.length + line.length > LOG_CHUNK) flush();
    pending += line;
    if (at !== "warning") flush();
    else timer ??= setTimeout(flush, LOG_DELAY_MS).unref();
  };
  return {
    enabled: (at) => SEVERITY[at] >= SEVERITY[level],
    debug: emit("debug"),
    info: emit("info"),
    warning: emit("warning"),
    error: emit("error"),
    flush,
  };
}

export const silentLogger: Logger = { enabled: () => false, debug() {}, info() {}, warning() {}, error() {} };
