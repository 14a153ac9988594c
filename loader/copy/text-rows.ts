import type { Hash } from "node:crypto";
import { ChunkedOutput } from "./chunks";
import type { RowSink } from "./row-sink";
import { ByteRuns } from "./runs";
import { encodeCopyRow } from "./text";
import type { ValidSale } from "../rules/validate";

/**
 * Valid rows as COPY text, in chunks of about `chunkSize` bytes, hashed as they are sent. A line the byte path took
 * is its own bytes: consecutive ones are copied out at once (see ByteRuns). `reuse`: `send` is done with each
 * chunk when it returns (see ChunkedOutput).
 */
export class TextRows extends ChunkedOutput implements RowSink {
  private readonly runs = new ByteRuns((bytes, start, end) => this.copy(bytes, start, end));

  constructor(chunkSize: number, send: (bytes: Buffer) => void, hash: Hash, reuse = false) {
    super(
      chunkSize,
      (bytes) => {
        hash.update(bytes);
        send(bytes);
      },
      reuse,
    );
  }

  addLine(bytes: Buffer, start: number, _firstTab: number, end: number): void {
    if (end < bytes.length) {
      this.runs.add(bytes, start, end + 1);
    } else {
      this.runs.add(bytes, start, end); // the file's last line, without a line end
      this.addText("\n");
    }
  }

  addSale(sale: ValidSale, plain: boolean): void {
    this.addText(encodeCopyRow(sale, plain));
  }

  flush(): void {
    this.runs.flush();
  }

  end(): void {
    this.runs.flush();
    this.emit();
  }

  private addText(text: string): void {
    this.runs.flush();
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    this.reserve(text.length * 3);
    this.used += this.out.write(text, this.used);
    if (this.used >= this.chunkSize) this.emit();
  }

  private copy(bytes: Buffer, from: number, to: number): void {
    while (from < to) {
      const copied = bytes.copy(this.out, this.used, from, to);
      from += copied;
      this.used += copied;
      if (this.used >= this.chunkSize) this.emit();
    }
  }
}
