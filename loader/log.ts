import { describeReject, type Reject } from "./report";

export type LogLevel = "debug" | "info" | "warning" | "error";
const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

export interface Logger {
  /** Whether messages at `level` are written; lets hot paths skip building messages nobody reads. */
  enabled(level: LogLevel): boolean;
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
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

/** Writes `timestamp - LEVEL - message` lines for every message at or above `level`. */
export function createLogger(level: LogLevel = "info", out: NodeJS.WritableStream = process.stderr): Logger {
  const emit = (at: LogLevel) => (message: string) => {
    if (SEVERITY[at] >= SEVERITY[level]) {
      out.write(`${formatTimestamp(new Date())} - ${at.toUpperCase()} - ${message}\n`);
    }
  };
  return {
    enabled: (at) => SEVERITY[at] >= SEVERITY[level],
    debug: emit("debug"),
    info: emit("info"),
    warning: emit("warning"),
    error: emit("error"),
  };
}

export const silentLogger: Logger = { enabled: () => false, debug() {}, info() {}, warning() {}, error() {} };

/** Logs each rejected row as the spec's loader does, or nothing when warnings are off. */
export function rejectLogger(logger: Logger): ((reject: Reject) => void) | undefined {
  if (!logger.enabled("warning")) return undefined;
  return (reject) => logger.warning(`Invalid sale: ${describeReject(reject)}`);
}
