/** The most bytes the index keeps: about a million gaps, however long the file (see CopyLines). */
const MAX_BYTES = 4 << 20;
const FIRST_BYTES = 4 << 10;

/**
 * Which CSV line each row sent to COPY came from, kept while encoding, in bounded memory, so that a row the
 * database refuses (it names its COPY row) is named by its CSV line without reading the file again (a FIFO cannot
 * be, and a regular file may have changed since).
 *
 * Rows follow each other line by line except where a rejected row, a blank line or a quoted field spanning lines
 * lies between them: only those gaps are kept, as (rows since the last gap, lines skipped) pairs of varints in a
 * ring of bytes. A clean file keeps nothing. When the ring is full the oldest gap is folded into the base, and
 * only rows before the base are forgotten: the database refuses a row at most as far behind the encoder as the
 * bytes in flight (socket buffers, a few MB), while the ring holds at least 2 million rows' gaps. A row older than
 * that is reported as unknown (null), never as a wrong line.
 */
/** A COPY row and the CSV line it came from. */
interface Place {
  row: number;
  line: number;
}

export class CopyLines {
  /** Where every lookup counts from: row 0 is the header's line 1, until gaps are folded in. */
  private readonly base: Place = { row: 0, line: 1 };
  /** The last row added. */
  private readonly last: Place = { row: 0, line: 1 };
  /** The last gap, where the next gap's deltas count from. */
  private readonly gap: Place = { row: 0, line: 1 };
  /** The gaps: `ring[head, head + used)`, wrapping around. */
  private ring: Buffer = Buffer.alloc(0);
  private head = 0;
  private used = 0;

  private readonly maxBytes: number;

  /** `maxBytes`: at least 64, room for a few gaps of the largest size (two varints of 8 bytes each). */
  constructor(maxBytes = MAX_BYTES) {
    this.maxBytes = Math.max(64, maxBytes);
  }

  /** Adds the next row sent to COPY, which is on CSV line `line`. An arrow function: it is passed as a callback. */
  readonly add = (line: number): void => {
    const { last, gap } = this;
    last.row++;
    if (line !== last.line + 1) {
      this.push(last.row - gap.row);
      this.push(line - gap.line - (last.row - gap.row));
      gap.row = last.row;
      gap.line = line;
    }
    last.line = line;
  };

  /** The CSV line of COPY row `row` (1-based, as the server counts them), or null when it is no longer known. */
  lineOf(row: number): number | null {
    if (!Number.isInteger(row) || row < 1 || row > this.last.row || row < this.base.row) return null;
    let at = this.head;
    let left = this.used;
    let gapRow = this.base.row;
    let gapLine = this.base.line;
    while (left > 0) {
      const rows = this.read(at);
      const skipped = this.read(rows.next);
      if (gapRow + rows.value > row) break;
      gapRow += rows.value;
      gapLine += rows.value + skipped.value;
      left -= this.distance(at, skipped.next);
      at = skipped.next;
    }
    return gapLine + (row - gapRow);
  }

  private push(value: number): void {
    let rest = value;
    do {
      const byte = rest % 128;
      rest = Math.floor(rest / 128);
      this.write(rest > 0 ? byte | 128 : byte);
    } while (rest > 0);
  }

  private write(byte: number): void {
    if (this.used === this.ring.length && !this.grow()) this.dropOldest();
    this.ring[(this.head + this.used) % this.ring.length] = byte;
    this.used++;
  }

  /** Doubles the ring, up to maxBytes; false when it is already that large. */
  private grow(): boolean {
    const size = Math.min(this.maxBytes, Math.max(FIRST_BYTES, this.ring.length * 2));
    if (size <= this.ring.length) return false;
    const bigger = Buffer.alloc(size);
    for (let i = 0; i < this.used; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length] as number;
    this.ring = bigger;
    this.head = 0;
    return true;
  }

  /** Folds the oldest whole gap into the base (a gap being written is never the oldest: the ring holds others). */
  private dropOldest(): void {
    const rows = this.read(this.head);
    const skipped = this.read(rows.next);
    this.base.row += rows.value;
    this.base.line += rows.value + skipped.value;
    this.used -= this.distance(this.head, skipped.next);
    this.head = skipped.next;
  }

  private read(at: number): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    let i = at;
    for (;;) {
      const byte = this.ring[i] as number;
      i = (i + 1) % this.ring.length;
      value += (byte & 127) * scale;
      if (byte < 128) return { value, next: i };
      scale *= 128;
    }
  }

  private distance(from: number, to: number): number {
    return (to - from + this.ring.length) % this.ring.length;
  }
}
