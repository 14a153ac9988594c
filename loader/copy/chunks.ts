/** Bytes of room past `chunkSize` in each output buffer: a sent chunk keeps its whole buffer alive. */
const ROW_ROOM = 8 * 1024;

/**
 * COPY data gathered into buffers of about `chunkSize` bytes, each handed to `send` once full. A sent buffer
 * belongs to its receiver (the socket may still hold it), so what follows goes into a new one, unless the receiver
 * is done with it when `send` returns (`reuse`): a new buffer per chunk makes garbage collections more frequent.
 */
export class ChunkedOutput {
  /** The chunk being gathered: `out[0, used)`. */
  protected out: Buffer;
  protected used = 0;
  /** A chunk and one more row of ordinary size. */
  private readonly capacity: number;

  constructor(
    protected readonly chunkSize: number,
    private readonly send: (bytes: Buffer) => void,
    private readonly reuse = false,
  ) {
    this.capacity = chunkSize + ROW_ROOM;
    this.out = Buffer.allocUnsafe(this.capacity);
  }

  /**
   * Makes room for `size` more bytes: the chunk is sent first when they would not fit, and a row larger than a
   * whole buffer (fields up to the 1 MiB record limit) gets a buffer of its own.
   */
  protected reserve(size: number): void {
    if (this.used + size <= this.out.length) return;
    this.emit();
    if (size > this.out.length) this.replace(Buffer.allocUnsafe(size));
  }

  /** Sends the chunk; unless `reuse`, its receiver keeps the bytes, and the next rows go into a new buffer. */
  protected emit(): void {
    if (this.used === 0) return;
    const bytes = this.out.subarray(0, this.used);
    if (!this.reuse || this.out.length !== this.capacity) this.replace(Buffer.allocUnsafe(this.capacity));
    this.used = 0;
    this.send(bytes);
  }

  /** Starts gathering into `out`; overridden to keep views of the buffer in step. */
  protected replace(out: Buffer): void {
    this.out = out;
  }
}
