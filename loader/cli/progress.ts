import type { WriteStream } from "node:tty";

const WIDTH = 30;

export interface ProgressBar {
  update(bytes: number): void;
  /** Erases the bar, so that a log line or the final error starts on a clean line; the next update redraws it. */
  clear(): void;
  done(): void;
}

/**
 * A one-line progress bar on a terminal, redrawn at most every 100 ms. Returns no-ops when `out` is not a TTY,
 * so logs piped to a file stay clean.
 */
export function createProgressBar(
  totalBytes: number,
  out: NodeJS.WriteStream | WriteStream = process.stderr,
): ProgressBar {
  if (!out.isTTY || totalBytes <= 0) return { update: () => {}, clear: () => {}, done: () => {} };
  const started = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const draw = (bytes: number) => {
    const share = Math.min(1, bytes / totalBytes);
    const filled = Math.round(share * WIDTH);
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? bytes / seconds / 1e6 : 0;
    out.write(
      `\r[${"#".repeat(filled)}${" ".repeat(WIDTH - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${rate.toFixed(1)} MB/s`,
    );
    drawn = true;
  };
  const clear = () => {
    if (drawn) out.write("\r\x1b[K");
    drawn = false;
  };
  return {
    update(bytes: number) {
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      draw(bytes);
    },
    clear,
    done: clear,
  };
}
