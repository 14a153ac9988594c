import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Transform, Writable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CsvReader, readHeader, type HeaderLayout } from "./csv";
import { describe, SalesDbError } from "./errors";
import { emptyByRule, type Reject, type ValidationReport } from "./report";
import type { RuleSet } from "./rules";
import { SaleValidator, type ValidSale } from "./validate";

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
  /** Bytes of COPY text gathered before a chunk is pushed. Default 64 KiB (larger chunks measured slower: less overlap with the server). */
  readonly chunkSize?: number;
  /** Called after each input chunk with the bytes of CSV read so far. */
  readonly onProgress?: (bytesRead: number) => void;
}

/**
 * CSV bytes in, PostgreSQL COPY text of the valid rows out, in ~64 KiB chunks with the stream's backpressure.
 * Validation runs inline, so the file is read once and memory stays flat whatever its size.
 */
export class SalesEncoder extends Transform {
  private readonly parser: CsvReader;
  private readonly validator: SaleValidator;
  private readonly hash = createHash("sha256");
  private readonly options: EncoderOptions;
  private readonly maxRejects: number;
  private readonly chunkSize: number;
  private header: HeaderLayout | null = null;
  private out = "";
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
    this.chunkSize = options.chunkSize ?? 64 * 1024;
    this.validator = new SaleValidator(options.rules);
    this.parser = new CsvReader(options.file, (fields, line, plain) => this.onRecord(fields, line, plain));
  }

  /** The report, once the stream has finished. */
  get report(): ValidationReport {
    if (!this.finished) throw new Error("SalesEncoder.report read before the stream finished");
    return this.finished;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.parser.write(chunk);
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
      this.emit_();
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
    this.out += encodeCopyRow(validator, plain);
    if (this.out.length >= this.chunkSize) this.emit_();
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

  /** Pushes the gathered COPY text and adds it to the hash (named so as not to shadow EventEmitter.emit). */
  private emit_(): void {
    if (this.out === "") return;
    const bytes = Buffer.from(this.out, "utf8");
    this.out = "";
    this.hash.update(bytes);
    this.push(bytes);
  }
}

/** Longest raw value a reject keeps; longer ones are cut and marked with an ellipsis. */
const MAX_KEPT_CHARS = 1000;
/**
 * Raw characters all listed rejects may hold together; past it rejects are only counted (and logged). With the
 * per-value cap, this bounds the report's memory whatever --max-rejects and the field sizes are.
 */
export const MAX_KEPT_TOTAL = 2_000_000;

function cut(value: string): string {
  return value.length > MAX_KEPT_CHARS ? `${value.slice(0, MAX_KEPT_CHARS)}…` : value;
}

/**
 * A copy of a reject that outlives its chunk. Fields are slices of the chunk's decoded text, and a kept slice would
 * keep the whole chunk alive; a few hundred rejects across a large file would exhaust the heap. Only listed rejects
 * are copied: the log formats the others at once.
 */
function kept(reject: Reject): Reject {
  const values: Record<string, string> = {};
  for (const [column, value] of Object.entries(reject.values)) values[column] = Buffer.from(value).toString();
  return { ...reject, values };
}

function presentValues(fields: readonly string[], header: HeaderLayout): Reject["values"] {
  const values: Record<string, string> = {};
  for (const [column, index] of Object.entries(header.positions)) {
    const value = fields[index];
    if (value !== undefined) values[column] = cut(value);
  }
  return values;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/**
 * One row in COPY text format: tab-separated, `\N` for NULL, backslash escapes. `plain` (the parser's promise
 * that no field holds a backslash, tab, CR or LF) skips the escape scan on the hot path.
 */
export function encodeCopyRow(sale: ValidSale, plain = false): string {
  return `${copyField(sale.product, plain)}\t${copyField(sale.price, plain)}\t${copyField(sale.quantity, plain)}\n`;
}

function copyField(value: string | null, plain: boolean): string {
  if (value === null) return "\\N";
  if (plain || !NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] ?? c);
}

/** Opens a CSV for streaming in large reads; errors surface through the pipeline (see `asFileError`). */
export function openCsv(file: string): NodeJS.ReadableStream {
  return createReadStream(file, { highWaterMark: 256 * 1024 });
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

/** Validates a CSV without touching any database. */
export async function validateFile(
  options: EncoderOptions,
  input: NodeJS.ReadableStream = openCsv(options.file),
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
