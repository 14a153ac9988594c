/** Bytes of room past `chunkSize` in each output buffer: a sent chunk keeps its whole buffer alive. */
const ROW_ROOM = 8 * 1024;

/**
 * Gathers COPY text into chunks of about `chunkSize` bytes and hands each full one to `send`. Text comes as strings
 * (a row the encoder built) or as a range of bytes that already is COPY text; consecutive ranges of one buffer are
 * kept as one run and copied out at once (`flushRun`), which must happen before that buffer is reused.
 */
export class CopyChunks {
  /** The chunk being gathered: `out[0, used)`. */
  private out: Buffer;
  private used = 0;
  /** Bytes added and not copied yet: `run[runStart, runEnd)`. */
  private run: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;

  constructor(
    private readonly chunkSize: number,
    private readonly send: (bytes: Buffer) => void,
  ) {
    // Room for a chunk and one more row of ordinary size; a row that does not fit goes out on its own (`addText`).
    this.out = Buffer.allocUnsafe(chunkSize + ROW_ROOM);
  }

  /** Adds `bytes[start, end)`, extending the run when it continues it. */
  addBytes(bytes: Buffer, start: number, end: number): void {
    if (bytes !== this.run || start !== this.runEnd) {
      this.flushRun();
      this.run = bytes;
      this.runStart = start;
    }
    this.runEnd = end;
  }

  addText(text: string): void {
    this.flushRun();
    if (this.used + text.length * 3 > this.out.length) {
      this.emit();
      // A row longer than a chunk (fields up to the 1 MiB record limit) goes out on its own.
      if (text.length * 3 > this.out.length) {
        this.send(Buffer.from(text, "utf8"));
        return;
      }
    }
    this.used += this.out.write(text, this.used);
    if (this.used >= this.chunkSize) this.emit();
  }

  /** Copies the run into the chunk. */
  flushRun(): void {
    const run = this.run;
    if (!run) return;
    let from = this.runStart;
    const to = this.runEnd;
    this.run = null;
    while (from < to) {
      const copied = run.copy(this.out, this.used, from, to);
      from += copied;
      this.used += copied;
      if (this.used >= this.chunkSize) this.emit();
    }
  }

  /** Sends everything gathered, at the end of the text. */
  end(): void {
    this.flushRun();
    this.emit();
  }

  /** Sends the chunk; its receiver keeps the bytes, so the next rows go into a new buffer. */
  private emit(): void {
    if (this.used === 0) return;
    const bytes = this.out.subarray(0, this.used);
    this.out = Buffer.allocUnsafe(this.out.length);
    this.used = 0;
    this.send(bytes);
  }
}
