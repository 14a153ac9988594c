import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { COMMA, LF, TAB } from "../ascii";
import { CsvReader } from "../csv/read";
import { inTableOrder, readHeader, type HeaderLayout } from "../csv/header";
import { describe, SalesDbError } from "../errors";
import { emptyByRule, type CopyFormat, type Reject, type ValidationReport } from "../rules/report";
import type { RuleSet } from "../rules/rules-file";
import { SaleValidator } from "../rules/validate";
import { rowSink } from "./format";
import type { RowSink } from "./row-sink";
import { cut, kept, MAX_KEPT_TOTAL, presentValues } from "../rules/reject-values";

export interface EncoderOptions {
  /** Labels errors and the report. */
  readonly file: string;
  readonly rules: RuleSet;
  /** Called for every rejected row, as it is found. */
  readonly onReject?: (reject: Reject) => void;
  /** Called with the line of every valid row (used to map a COPY row back to its CSV line on an error). */
  readonly onValid?: (line: number) => void;
  /** How many rejects the report lists; the rest are only counted. Default 10,000. */
  readonly maxRejects?: number;
  /**
   * Bytes of COPY text gathered before a chunk is pushed. Default 64 KiB (larger chunks measured slower: less overlap
   * with the server).
   */
  readonly chunkSize?: number;
  /** Called after each input chunk with the bytes of CSV read so far. */
  readonly onProgress?: (bytesRead: number) => void;
  /**
   * Whether lines that are valid as they stand skip the string path (see SalesEncoder). Default true; false only
   * to compare the two paths in tests and benchmarks.
   */
  readonly bytePath?: boolean;
  /** The COPY format of the output (default text); the report's sha256 is of the rows' COPY text either way. */
  readonly format?: CopyFormat;
}

/**
 * CSV bytes in, PostgreSQL COPY data of the valid rows out (text or binary, see RowSink), in ~64 KiB chunks with
 * the stream's backpressure. Validation runs inline, so the file is read once and memory stays flat whatever its
 * size.
 *
 * Most lines of a real file are valid, quote-free and already canonical, and their COPY text is their own bytes
 * with tabs for commas: the reader offers such lines as bytes (`onPlainLine`), and they go out without building a
 * string (as they are in text, their values read on the way in binary). Every other line (a reject, a quoted
 * field, a value to canonicalize) takes the string path: fields, `SaleValidator.check`, `RowSink.addSale`. Both
 * give the same bytes for a line the fast path takes, which the encoder's differential test checks. On the bench's
 * 1M-row file the byte path halves the encoder's CPU: 0.60 s against 1.41 s with every line as strings
 * (`npm run bench:parser`, median of 3).
 */
export class SalesEncoder extends Transform {
  private readonly parser: CsvReader;
  private readonly validator: SaleValidator;
  /** Of the valid rows' COPY text, whatever the format sent. */
  private readonly hash = createHash("sha256");
  private readonly options: EncoderOptions;
  private readonly maxRejects: number;
  private header: HeaderLayout | null = null;
  /** Whether the header lists the table's columns in table order, which the fast path needs. */
  private fastPath = false;
  private readonly rows: RowSink;
  /** Where the next comma at or after the last line offered is in `commaIn` (-1: none left in it). */
  private commaIn: Buffer | null = null;
  private nextComma = -1;
  private bytesRead = 0;
  private valid = 0;
  private rejected = 0;
  private readonly byRule = emptyByRule();
  private readonly rejects: Reject[] = [];
  /** Characters of raw values the listed rejects hold, bounded by MAX_KEPT_TOTAL. */
  private keptChars = 0;
  private finished: ValidationReport | null = null;

  constructor(options: EncoderOptions) {
    super();
    this.options = options;
    this.maxRejects = options.maxRejects ?? 10_000;
    this.validator = new SaleValidator(options.rules);
    this.rows = rowSink(
      options.format ?? "text",
      options.rules,
      this.validator,
      options.chunkSize ?? 64 * 1024,
      (bytes) => this.push(bytes),
      this.hash,
    );
    this.parser = new CsvReader(
      options.file,
      (fields, line, plain) => this.onRecord(fields, line, plain),
      undefined,
      options.bytePath === false
        ? undefined
        : (bytes, start, end, line) => this.onPlainLine(bytes, start, end, line),
    );
  }

  /** The report, once the stream has finished. */
  get report(): ValidationReport {
    if (!this.finished) throw new Error("SalesEncoder.report read before the stream finished");
    return this.finished;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.parser.write(chunk);
      this.rows.flush(); // the reader's buffer, which added lines point into, is not kept
      this.bytesRead += chunk.length;
      this.options.onProgress?.(this.bytesRead);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.parser.end();
      if (!this.header) {
        throw new SalesDbError("csv_header", `${this.options.file}:1: empty file, expected a header row`, {
          file: this.options.file,
          line: 1,
        });
      }
      this.rows.end();
      this.finished = {
        file: this.options.file,
        valid: this.valid,
        rejected: this.rejected,
        byRule: this.byRule,
        rejects: this.rejects,
        rejectsOmitted: this.rejected - this.rejects.length,
        sha256: this.hash.digest("hex"),
      };
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private onRecord(fields: string[], line: number, plain: boolean): void {
    const header = this.header;
    if (!header) {
      this.header = readHeader(fields, this.options.file, line);
      this.fastPath = inTableOrder(this.header);
      return;
    }
    const { positions, width } = header;
    const product = fields[positions.product] ?? "";
    const price = fields[positions.price] ?? "";
    const quantity = fields[positions.quantity] ?? "";
    if (fields.length !== width) {
      this.reject({
        line,
        rules: ["column_count"],
        values: presentValues(fields, header),
        fieldCount: fields.length,
      });
      return;
    }
    const validator = this.validator;
    const broken = validator.check(product, price, quantity);
    if (broken) {
      this.reject({
        line,
        rules: broken,
        values: { product: cut(product), price: cut(price), quantity: cut(quantity) },
      });
      return;
    }
    this.valid++;
    this.options.onValid?.(line);
    this.rows.addSale(validator, plain);
  }

  /**
   * The fast path: takes a line whose fields are in table order and whose bytes, commas made tabs, are its COPY
   * text; declines (false) anything else, which then comes back as a record. Taken lines are rewritten in place
   * (the reader's own copy) into their COPY text and added as bytes, so that consecutive ones are copied or hashed
   * at once (see ByteRuns).
   */
  private onPlainLine(bytes: Buffer, start: number, end: number, line: number): boolean {
    if (!this.fastPath) return false;
    // The next comma, searched again only once a line passes it: a search per line would scan to the end of the
    // chunk for every line that has none.
    if (bytes !== this.commaIn || (this.nextComma !== -1 && this.nextComma < start)) {
      this.commaIn = bytes;
      this.nextComma = bytes.indexOf(COMMA, start);
    }
    const firstComma = this.nextComma;
    if (firstComma === -1 || firstComma >= end) return false;
    const secondComma = this.validator.acceptsAsIs(bytes, start, firstComma, end);
    if (secondComma === -1) return false;
    bytes[firstComma] = TAB;
    bytes[secondComma] = TAB;
    // An LF already, or the CR of a CRLF, whose LF is then left out; none after the file's last line.
    if (end < bytes.length) bytes[end] = LF;
    this.rows.addLine(bytes, start, firstComma, end);
    this.valid++;
    this.options.onValid?.(line);
    return true;
  }

  private reject(reject: Reject): void {
    this.rejected++;
    for (const rule of reject.rules) this.byRule[rule]++;
    if (this.rejects.length < this.maxRejects) {
      const size = Object.values(reject.values).reduce((sum, value) => sum + (value?.length ?? 0), 0);
      if (this.keptChars + size <= MAX_KEPT_TOTAL) {
        this.keptChars += size;
        this.rejects.push(kept(reject));
      }
    }
    this.options.onReject?.(reject);
  }
}

/**
 * Converts an error of reading `file` into a SalesDbError; passes others through (a socket error of the COPY
 * stream also has a code and a syscall, but no path).
 */
export function asFileError(error: unknown, file: string): unknown {
  const errno = error as NodeJS.ErrnoException | undefined;
  if (typeof errno?.code === "string" && errno.syscall && errno.path === file) {
    return new SalesDbError("file_unreadable", `${file}: cannot read CSV file (${describe(error)})`, {
      file,
      cause: error,
    });
  }
  return error;
}

/** Validates a CSV without touching any database; read errors of the file become `file_unreadable`. */
export async function validateFile(
  options: EncoderOptions,
  input: NodeJS.ReadableStream = createReadStream(options.file, { highWaterMark: 256 * 1024 }),
): Promise<ValidationReport> {
  const encoder = new SalesEncoder(options);
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    await pipeline(input, encoder, discard);
  } catch (error) {
    throw asFileError(error, options.file);
  }
  return encoder.report;
}
