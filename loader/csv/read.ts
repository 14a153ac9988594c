import { isUtf8 } from "node:buffer";
import { CsvError, parse, type Options } from "csv-parse/sync";
import { CSV_PARSE_CODES, csvOptions, MAX_RECORD_SIZE } from "./dialect";
import { SalesDbError, type ErrorCode } from "../errors";
import {
  completeUtf8Length,
  countNewlines,
  CR,
  LF,
  quotedSegments,
  splitPlain,
  validUtf8Length,
} from "./bytes";
import { simpleRecord } from "./simple-record";

/**
 * Receives each record's fields and the line it starts on (the header is line 1). `plain` promises that no field
 * holds a backslash, tab, CR or LF, so a COPY encoder may skip escaping.
 */
export type RecordHandler = (fields: string[], line: number, plain: boolean) => void;

/**
 * Offered each quote-free line that holds no tab, backslash or CR, as bytes ([start, end) of `bytes`, without its
 * line end), before it is decoded: returns true when it took the line, false to receive its fields as a record.
 * `bytes` is the reader's own copy: a handler that takes the line may rewrite [start, end], its line end included
 * (the reader reads none of it again). This lets a consumer handle the common line without building strings. The
 * reader reuses that memory for the next chunk: `bytes` is valid until `write` or `end` returns.
 */
export type PlainLineHandler = (bytes: Buffer, start: number, end: number, line: number) => boolean;

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);
const TAB = 0x09;
const BACKSLASH = 0x5c;

/**
 * Streams CSV bytes to records. csv-parse owns CSV syntax: every record that holds a quote and is not of the simple
 * kind (one line, each field unquoted or wholly quoted; see simpleRecord, held to csv-parse's answers by the
 * differential test), and every line too long for the fast path, is parsed by it, and its errors keep their
 * distinctions (see CSV_PARSE_CODES). What this class still does, and why:
 * - A fast path for quote-free lines, which are a split on commas and nothing more. It exists for speed: on the
 *   bench's 1M-row file (5% invalid rows, 1% quoted), csv-parse alone takes 2.29 s of CPU and this reader, handing
 *   every record on as strings, 0.58 s (`npm run bench:parser`, median of 3, Node 20, shared 2-core machine).
 *   Quoted fields are rare in real files, so csv-parse sees few records. The reader works on bytes and decodes only
 *   what it hands on as strings, so a `PlainLineHandler` can take most lines without any decoding.
 * - Checking the encoding: every byte is checked once (isUtf8, simdutf); csv-parse decodes field by field and turns
 *   invalid UTF-8 into U+FFFD silently. Invalid UTF-8 and NUL (which PostgreSQL text cannot hold) are refused with
 *   their line.
 * - Line numbers: csv-parse gives no record's first line, and its `lines` counts a lone CR, and a CRLF inside
 *   quotes twice. Lines here count LFs, as editors, grep -n and sed do.
 * - A bound on the bytes of one unfinished record (4 × max_record_size): csv-parse's count covers field content
 *   only, not quotes and commas, and the bytes must be held until the record ends.
 * Records that hold a quote and are not simple are handed to csv-parse in one batch per chunk, as one csv-parse call
 * costs about 20 µs of setup.
 */
export class CsvReader {
  /** Bytes of the record that is not complete yet (from a line's start). */
  private pending: Buffer = EMPTY;
  /** How many bytes of `pending` were already checked for UTF-8 and NUL. */
  private checked = 0;
  private atStart = true;
  /** The line on which `pending` starts. */
  private line = 1;
  private readonly options: Options;
  private readonly maxPending: number;
  /** The memory each chunk is copied into, reused: a new buffer per chunk made garbage collections frequent. */
  private scratch: Buffer = EMPTY;

  constructor(
    private readonly file: string,
    private readonly onRecord: RecordHandler,
    private readonly maxRecordSize = MAX_RECORD_SIZE,
    private readonly onPlainLine?: PlainLineHandler,
  ) {
    // The BOM is dropped here, before the fast path sees the text; a U+FEFF later in the file is data.
    this.options = { ...csvOptions(maxRecordSize), bom: false };
    this.maxPending = 4 * maxRecordSize;
  }

  write(chunk: Uint8Array): void {
    // Always a copy (a memcpy, cheap next to the rest), so that handlers may rewrite it (see PlainLineHandler).
    const length = this.pending.length + chunk.length;
    if (this.scratch.length < length)
      this.scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * this.scratch.length));
    this.pending.copy(this.scratch, 0);
    this.scratch.set(chunk, this.pending.length);
    // A view of its own per chunk: consumers may tell chunks apart by identity.
    this.consume(this.scratch.subarray(0, length), false);
  }

  /** Flushes the last record; throws if the file ends inside a quoted field or a character. */
  end(): void {
    this.consume(this.pending, true);
  }

  private consume(bytes: Buffer, final: boolean): void {
    let from = 0;
    if (this.atStart) {
      // Wait for three bytes before deciding whether the file starts with a byte order mark.
      if (!final && bytes.length < BOM.length && BOM.subarray(0, bytes.length).equals(bytes)) {
        this.keep(bytes, 0);
        return;
      }
      this.atStart = false;
      if (bytes.subarray(0, BOM.length).equals(BOM)) from = BOM.length;
    }
    this.checkEncoding(bytes, final);
    const { segments, stop } = quotedSegments(bytes, from, final);
    const records = segments.length > 0 ? this.parseBatch(bytes, segments) : null;

    // The walk covers whole lines before `stop`, and at the end of the file the last line too.
    const length = final || stop === from ? stop : Math.max(from, bytes.lastIndexOf(LF, stop - 1) + 1);
    const pos = this.walk(bytes, from, length, segments, records);
    this.keep(bytes, pos);
    if (this.pending.length > this.maxPending) this.tooLong();
  }

  /**
   * Hands on the records of [from, length), which holds whole lines (and the quoted records at `segments`, already
   * parsed into `records` when that worked); returns where it stopped. A method of its own so that V8 optimizes the
   * loop with the code after it (as one loop inside `consume`, it was deoptimized at the end of every chunk).
   */
  private walk(
    bytes: Buffer,
    from: number,
    length: number,
    segments: readonly number[],
    records: string[][] | null,
  ): number {
    let pos = from;
    let line = this.line;
    let segment = 0;
    let nextSegment = segments.length > 0 ? (segments[0] as number) : length;
    let nextBackslash = bytes.indexOf(BACKSLASH, pos);
    let nextTab = bytes.indexOf(TAB, pos);
    let nextCr = bytes.indexOf(CR, pos);

    while (pos < length) {
      if (pos === nextSegment) {
        const end = segments[segment + 1] as number;
        const fields = records?.[segment / 2] ?? this.parseAlone(bytes.toString("utf8", pos, end), line);
        this.onRecord(fields, line, false);
        line += countNewlines(bytes, pos, end);
        pos = end;
        segment += 2;
        nextSegment = segment < segments.length ? (segments[segment] as number) : length;
        continue;
      }
      const newline = bytes.indexOf(LF, pos);
      // Only the file's last line may lack its LF; its CR, if any, is data (not half of a CRLF).
      const last = newline === -1 || newline >= length;
      let end = last ? length : newline;
      const next = last ? length : newline + 1;
      if (!last && end > pos && bytes[end - 1] === CR) end--;
      if (end - pos > this.maxRecordSize) {
        // Possibly over csv-parse's limit (which counts the bytes of the current field, leaving commas out):
        // csv-parse decides between a record and `csv_record_too_long`.
        this.onRecord(this.parseAlone(bytes.toString("utf8", pos, next), line), line, false);
      } else if (end > pos) {
        if (nextBackslash !== -1 && nextBackslash < pos) nextBackslash = bytes.indexOf(BACKSLASH, pos);
        if (nextTab !== -1 && nextTab < pos) nextTab = bytes.indexOf(TAB, pos);
        if (nextCr !== -1 && nextCr < pos) nextCr = bytes.indexOf(CR, pos);
        // `end` excludes the line's own CR; a CR before it is data that COPY must see escaped.
        const plain =
          (nextBackslash === -1 || nextBackslash >= end) &&
          (nextTab === -1 || nextTab >= end) &&
          (nextCr === -1 || nextCr >= end);
        if (!(plain && this.onPlainLine?.(bytes, pos, end, line))) {
          this.onRecord(splitPlain(bytes.toString("utf8", pos, end)), line, plain);
        }
      }
      line++;
      pos = next;
    }

    this.line = line;
    return pos;
  }

  /** Keeps the bytes from `pos` for the next chunk: a copy, so that the chunk itself is not retained. */
  private keep(bytes: Buffer, pos: number): void {
    this.checked = Math.max(0, this.checked - pos);
    this.pending = pos === bytes.length ? EMPTY : Buffer.from(bytes.subarray(pos));
  }

  /**
   * Refuses invalid UTF-8 and NUL in the bytes not checked yet, naming their line. A character split across chunks
   * is checked with the next chunk; at the end of the file it is an error.
   */
  private checkEncoding(bytes: Buffer, final: boolean): void {
    const from = this.checked;
    const complete = final ? bytes.length : completeUtf8Length(bytes);
    if (complete <= from) return;
    const unchecked = bytes.subarray(from, complete);
    this.checked = complete;
    const nul = unchecked.indexOf(0);
    const utf8 = isUtf8(unchecked);
    if (utf8 && nul === -1) return;
    const valid = utf8 ? unchecked.length : validUtf8Length(unchecked);
    const lineAt = (offset: number) => this.line + countNewlines(bytes, 0, from + offset);
    if (nul !== -1 && nul < valid) throw this.encodingError("NUL byte", lineAt(nul));
    // Only at the end of the file can the bytes end inside a character (before, that character waits for its rest).
    const cut = valid === unchecked.length;
    throw this.encodingError(cut ? "invalid UTF-8 at the end of the file" : "invalid UTF-8", lineAt(valid));
  }

  /**
   * The fields of each segment: a simple record's at once (see simpleRecord), the others' from one csv-parse call;
   * null when that call fails (the walk then finds where).
   */
  private parseBatch(bytes: Buffer, segments: readonly number[]): string[][] | null {
    const records: string[][] = [];
    const parts: string[] = [];
    const partOf: number[] = [];
    for (let i = 0; i < segments.length; i += 2) {
      const start = segments[i] as number;
      const end = segments[i + 1] as number;
      const text = bytes.toString("utf8", start, end);
      // A record that may be too long is left to csv-parse, whose limit counts bytes of field content.
      const fields = end - start <= this.maxRecordSize ? simpleRecord(text) : null;
      if (fields === null) {
        partOf.push(records.length);
        parts.push(text);
      }
      records.push(fields ?? []);
    }
    if (parts.length === 0) return records;
    try {
      const parsed = parse(parts.join(""), this.options) as string[][];
      // Each segment is one record; anything else would misplace fields, so let the walk parse them one by one.
      if (parsed.length !== parts.length) return null;
      partOf.forEach((at, i) => (records[at] = parsed[i] as string[]));
      return records;
    } catch {
      return null;
    }
  }

  /** Parses the text of exactly one record, which starts on `line`. */
  private parseAlone(text: string, line: number): string[] {
    let records: string[][];
    try {
      records = parse(text, this.options) as string[][];
    } catch (error) {
      throw this.syntaxError(error, text, line);
    }
    if (records.length !== 1)
      throw new Error(`csv: expected one record on line ${line}, got ${records.length}`);
    return records[0] as string[];
  }

  /**
   * The unfinished record outgrew `maxPending`: csv-parse names its error if it sees one (a quote in an unquoted
   * field, say), else the record is too long.
   */
  private tooLong(): never {
    const text = this.pending.toString("utf8");
    try {
      parse(text, this.options);
    } catch (error) {
      if (error instanceof CsvError && error.code === "CSV_QUOTE_NOT_CLOSED") {
        throw this.csvError("csv_record_too_long", this.fieldLine(error, text, this.line), "", true);
      }
      throw this.syntaxError(error, text, this.line);
    }
    throw this.csvError("csv_record_too_long", this.line);
  }

  /** Our error for a csv-parse error in `text` (one record, from `line`). */
  private syntaxError(error: unknown, text: string, line: number): unknown {
    if (!(error instanceof CsvError)) return error;
    const code = CSV_PARSE_CODES[error.code] ?? "csv_syntax";
    return this.csvError(code, this.fieldLine(error, text, line), error.message, text.includes('"'));
  }

  /** The line on which the field csv-parse stopped in starts; `text` is one record, from `line`. */
  private fieldLine(error: CsvError, text: string, line: number): number {
    // `index` counts the record's completed fields; `bytes` is then the offset of the comma before this one.
    const start = error.index === 0 || typeof error.bytes !== "number" ? 0 : error.bytes + 1;
    return line + countNewlines(Buffer.from(text), 0, start);
  }

  /** `quoted`: the record holds a quote, so a record too long may be a quote left open. */
  private csvError(code: ErrorCode, line: number, detail = "", quoted = false): SalesDbError {
    const limit =
      this.maxRecordSize % (1 << 20) === 0
        ? `the ${this.maxRecordSize >> 20} MiB limit`
        : `the ${this.maxRecordSize.toLocaleString("en")}-character limit`;
    const what: Partial<Record<ErrorCode, string>> = {
      csv_unclosed_quote: "a quoted field opens on this line and never closes (add the closing quote)",
      csv_invalid_closing_quote:
        'text follows the closing quote of the field that starts on this line (write a quote inside a quoted field twice: "")',
      csv_invalid_opening_quote:
        'a quote inside a field that does not start with one (quote the whole field and write the quote twice: "12"" screen")',
      csv_record_too_long: `record longer than ${limit}${quoted ? "; is a quote left open?" : ""}`,
    };
    return new SalesDbError(code, `${this.file}:${line}: ${what[code] ?? `invalid CSV (${detail})`}`, {
      file: this.file,
      line,
    });
  }

  private encodingError(what: string, line: number): SalesDbError {
    return new SalesDbError("csv_encoding", `${this.file}:${line}: ${what}; the file must be UTF-8 text`, {
      file: this.file,
      line,
    });
  }
}
