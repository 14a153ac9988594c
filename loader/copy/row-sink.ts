import type { ValidSale } from "../rules/validate";

/**
 * Where the encoder puts the valid rows: COPY text or COPY binary. Either way it hashes the rows' COPY text, so that
 * a report's sha256 is the same whichever format carried them.
 */
export interface RowSink {
  /**
   * A line the byte path took, its commas already made tabs: its COPY text is `bytes[start, end)` and a LF, which
   * is `bytes[end]` unless the line ends the buffer (the file's last line, without a line end). The product is
   * `bytes[start, firstTab)`, and the validator holds the price and quantity it read (`SaleValidator.accepted*`).
   */
  addLine(bytes: Buffer, start: number, firstTab: number, end: number): void;
  /** A row of canonical values; `plain` promises that no field holds a backslash, tab, CR or LF. */
  addSale(sale: ValidSale, plain: boolean): void;
  /** Called before the buffer that added lines point into is reused. */
  flush(): void;
  /** Sends what is left, at the end of the input. */
  end(): void;
}
