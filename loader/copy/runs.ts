/**
 * Coalesces byte ranges that continue one another in one buffer into runs, and hands each run to `take` when it
 * ends: a run of many lines then costs one copy (or one hash update) instead of one per line. `flush` must be
 * called before that buffer is reused.
 */
export class ByteRuns {
  /** The run not handed on yet: `run[start, end)`. */
  private run: Buffer | null = null;
  private start = 0;
  private end = 0;

  constructor(private readonly take: (bytes: Buffer, start: number, end: number) => void) {}

  /** Adds `bytes[start, end)`, extending the run when it continues it. */
  add(bytes: Buffer, start: number, end: number): void {
    if (bytes !== this.run || start !== this.end) {
      this.flush();
      this.run = bytes;
      this.start = start;
    }
    this.end = end;
  }

  flush(): void {
    const run = this.run;
    if (!run) return;
    this.run = null;
    this.take(run, this.start, this.end);
  }
}
