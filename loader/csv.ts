import { isUtf8 } from "node:buffer";
import { CsvError, parse, type Options } from "csv-parse/sync";
import { SalesDbError, type ErrorCode } from "./errors";
import { COLUMNS, type Column } from "./rules";

/**
 * Receives each record's fields and the line it starts on (the header is line 1). `plain` promises that no field
 * holds a backslash, tab, CR or LF, so a COPY encoder may skip escaping.
 */
export type RecordHandler = (fields: string[], line: number, plain: boolean) => void;

/** csv-parse's `max_record_size`: about the most field content (1 MiB) one record may hold. */
export const MAX_RECORD_SIZE = 1 << 20;

/**
 * The CSV dialect, which csv-parse implements: RFC 4180 quoting, strict (a quote inside an unquoted field, or text
 * after a closing quote, is an error); CRLF or LF end a record, a lone CR is data; blank lines are skipped; a BOM
 * is dropped; ragged rows are kept (the encoder rejects them as `column_count`). The differential test runs plain
 * csv-parse with exactly these options against `CsvReader`.
 */
export function csvOptions(maxRecordSize = MAX_RECORD_SIZE): Options {
  return {
    bom: true,
    record_delimiter: ["\r\n", "\n"],
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: false,
    max_record_size: maxRecordSize,
  };
}

/** csv-parse's error codes, as ours; any other csv-parse error becomes `csv_syntax`. */
export const CSV_PARSE_CODES: Readonly<Record<string, ErrorCode>> = {
  CSV_QUOTE_NOT_CLOSED: "csv_unclosed_quote",
  CSV_INVALID_CLOSING_QUOTE: "csv_invalid_closing_quote",
  INVALID_OPENING_QUOTE: "csv_invalid_opening_quote",
  CSV_MAX_RECORD_SIZE: "csv_record_too_long",
};

/**
 * Streams CSV bytes to records. csv-parse owns CSV syntax: every record that holds a quote, and every line too long
 * for the fast path, is parsed by it, and its errors keep their distinctions (see CSV_PARSE_CODES). What this class
 * still does, and why:
 * - A fast path for quote-free lines, which are a split on commas and nothing more. It exists for speed: on the
 *   bench's 1M-row file (5% invalid rows, 1% quoted), csv-parse alone takes 2.06 s of CPU and this reader 0.34 s
 *   (`npm run bench:parser`, median of 5, Node 20, shared 2-core machine); the whole encoder 0.89 s. Quoted fields are rare in real files,
 *   so csv-parse sees few records.
 * - Decoding: the chunk is checked and decoded once (isUtf8 + toString); csv-parse decodes field by field and
 *   turns invalid UTF-8 into U+FFFD silently. Invalid UTF-8 and NUL (which PostgreSQL text cannot hold) are refused
 *   with their line.
 * - Line numbers: csv-parse gives no record's first line, and its `lines` counts a lone CR, and a CRLF inside
 *   quotes twice. Lines here count LFs, as editors, grep -n and sed do.
 * - A bound on the text of one unfinished record (4 × max_record_size): csv-parse's count covers field content
 *   only, not quotes and commas, and the text must be held until the record ends.
 * Records that hold a quote are found by quote parity (a record ends at the first LF after an even number of
 * quotes, which is exactly where strict RFC 4180 ends it) and handed to csv-parse in one batch per chunk, as one
 * csv-parse call costs about 20 µs of setup.
 */
export class CsvReader {
  /** Bytes of a character split across chunks, kept for the next chunk. */
  private carry: Buffer = Buffer.alloc(0);
  private atStart = true;
  /** Text of the record that is not complete yet. */
  private pending = "";
  /** The line on which `pending` starts. */
  private line = 1;
  private readonly options: Options;
  private readonly maxPending: number;

  constructor(
    private readonly file: string,
    private readonly onRecord: RecordHandler,
    private readonly maxRecordSize = MAX_RECORD_SIZE,
  ) {
    // The BOM is dropped here, before the fast path sees the text; a U+FEFF later in the file is data.
    this.options = { ...csvOptions(maxRecordSize), bom: false };
    this.maxPending = 4 * maxRecordSize;
  }

  write(chunk: Uint8Array): void {
    const bytes =
      this.carry.length > 0
        ? Buffer.concat([this.carry, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const end = completeUtf8Length(bytes);
    this.carry = Buffer.from(bytes.subarray(end)); // a copy, so the chunk itself is not retained
    const body = bytes.subarray(0, end);
    // isUtf8 (simdutf) then utf8Slice decodes about 1.6x faster than a fatal TextDecoder.
    if (!isUtf8(body)) {
      const valid = validUtf8Prefix(body);
      throw this.encodingError(
        "invalid UTF-8",
        this.lineAfterPending() + countNewlines(valid, 0, valid.length),
      );
    }
    let text = body.toString("utf8");
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte order mark
    }
    this.consume(text, false);
  }

  /** Flushes the last record; throws if the file ends inside a quoted field or a character. */
  end(): void {
    if (this.carry.length > 0) {
      throw this.encodingError("invalid UTF-8 at the end of the file", this.lineAfterPending());
    }
    this.consume("", true);
  }

  private consume(chunk: string, final: boolean): void {
    const nul = chunk.indexOf("\u0000");
    if (nul !== -1) {
      throw this.encodingError("NUL byte", this.lineAfterPending() + countNewlines(chunk, 0, nul));
    }
    const text = this.pending === "" ? chunk : this.pending + chunk;
    const { segments, stop } = quotedSegments(text, final);
    const records = segments.length > 0 ? this.parseBatch(text, segments) : null;

    // The walk covers whole lines before `stop`, and at the end of the file the last line too.
    const length = final || stop === 0 ? stop : text.lastIndexOf("\n", stop - 1) + 1;
    let pos = 0;
    let line = this.line;
    let segment = 0;
    let nextSegment = segments.length > 0 ? (segments[0] as number) : length;
    let nextBackslash = text.indexOf("\\");
    let nextTab = text.indexOf("\t");
    let nextCr = text.indexOf("\r");

    while (pos < length) {
      if (pos === nextSegment) {
        const end = segments[segment + 1] as number;
        const fields = records?.[segment / 2] ?? this.parseAlone(text.slice(pos, end), line);
        this.onRecord(fields, line, false);
        line += countNewlines(text, pos, end);
        pos = end;
        segment += 2;
        nextSegment = segment < segments.length ? (segments[segment] as number) : length;
        continue;
      }
      const newline = text.indexOf("\n", pos);
      // Only the file's last line may lack its LF; its CR, if any, is data (not half of a CRLF).
      const last = newline === -1 || newline >= length;
      let end = last ? length : newline;
      const next = last ? length : newline + 1;
      if (!last && end > pos && text.charCodeAt(end - 1) === CR) end--;
      if ((end - pos) * 3 > this.maxRecordSize) {
        // Possibly over csv-parse's limit (which counts the current field in bytes, up to 3 per character here, and
        // leaves commas out): csv-parse decides between a record and `csv_record_too_long`.
        this.onRecord(this.parseAlone(text.slice(pos, next), line), line, false);
      } else if (end > pos) {
        if (nextBackslash !== -1 && nextBackslash < pos) nextBackslash = text.indexOf("\\", pos);
        if (nextTab !== -1 && nextTab < pos) nextTab = text.indexOf("\t", pos);
        if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf("\r", pos);
        // `end` excludes the line's own CR; a CR before it is data that COPY must see escaped.
        const plain =
          (nextBackslash === -1 || nextBackslash >= end) &&
          (nextTab === -1 || nextTab >= end) &&
          (nextCr === -1 || nextCr >= end);
        this.onRecord(splitPlain(text, pos, end), line, plain);
      }
      line++;
      pos = next;
    }

    this.pending = pos === 0 ? text : text.slice(pos);
    this.line = line;
    if (this.pending.length > this.maxPending) this.tooLong();
  }

  /** The fields of each segment, from one csv-parse call; null when that call fails (the walk then finds where). */
  private parseBatch(text: string, segments: readonly number[]): string[][] | null {
    const parts: string[] = [];
    for (let i = 0; i < segments.length; i += 2) parts.push(text.slice(segments[i], segments[i + 1]));
    try {
      const records = parse(parts.join(""), this.options) as string[][];
      // Each segment is one record; anything else would misplace fields, so let the walk parse them one by one.
      return records.length === parts.length ? records : null;
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
    const text = this.pending;
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
    const before = Buffer.from(text).subarray(0, start).toString();
    return line + countNewlines(before, 0, before.length);
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

  /** The line on which the next chunk's text starts: after the incomplete record carried over. */
  private lineAfterPending(): number {
    return this.line + countNewlines(this.pending, 0, this.pending.length);
  }

  private encodingError(what: string, line: number): SalesDbError {
    return new SalesDbError("csv_encoding", `${this.file}:${line}: ${what}; the file must be UTF-8 text`, {
      file: this.file,
      line,
    });
  }
}

const CR = 0x0d;

/**
 * Where the records that hold a quote are in `text` (which starts at a record's start): [start, end) pairs, from
 * the start of the line of a record's first quote to just past the LF after an even number of quotes. `stop` is
 * where an unfinished one starts (or the text's end). At the end of the file, an unfinished one runs to the end.
 */
function quotedSegments(text: string, final: boolean): { segments: number[]; stop: number } {
  const segments: number[] = [];
  let pos = 0;
  for (;;) {
    const quote = text.indexOf('"', pos);
    if (quote === -1) return { segments, stop: text.length };
    const start = text.lastIndexOf("\n", quote) + 1;
    let end = evenQuoteLineEnd(text, quote);
    if (end === -1) {
      if (!final) return { segments, stop: start };
      end = text.length;
    }
    segments.push(start, end);
    pos = end;
  }
}

/** Just past the first LF preceded by an even number of quotes counted from the (opening) quote at `quote`; -1 if none. */
function evenQuoteLineEnd(text: string, quote: number): number {
  let newline = -1;
  let i = quote + 1;
  for (;;) {
    const close = text.indexOf('"', i);
    if (close === -1) return -1;
    i = close + 1;
    if (newline < i) newline = text.indexOf("\n", i);
    if (newline === -1) return -1;
    const open = text.indexOf('"', i);
    if (open === -1 || open > newline) return newline + 1;
    i = open + 1;
  }
}

/** Fields of a quote-free line; indexOf-and-slice is about twice as fast as slice().split() here. */
function splitPlain(text: string, start: number, end: number): string[] {
  const fields: string[] = [];
  for (;;) {
    const comma = text.indexOf(",", start);
    if (comma === -1 || comma >= end) {
      fields.push(text.slice(start, end));
      return fields;
    }
    fields.push(text.slice(start, comma));
    start = comma + 1;
  }
}

/** The length of `bytes` without a trailing, incomplete UTF-8 character. */
function completeUtf8Length(bytes: Buffer): number {
  const length = bytes.length;
  for (let i = length - 1; i >= 0 && i >= length - 4; i--) {
    const byte = bytes[i] as number;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + size > length ? i : length;
  }
  return length;
}

/** The text before the first invalid byte of `chunk`, found by bisection (only on the error path). */
function validUtf8Prefix(chunk: Uint8Array): string {
  const decodes = (end: number) => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(chunk.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let low = 0;
  let high = chunk.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (decodes(middle)) low = middle;
    else high = middle - 1;
  }
  return new TextDecoder().decode(chunk.subarray(0, low), { stream: true });
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

/** Where each column sits in a record, and how many fields a record must have. */
export interface HeaderLayout {
  readonly positions: Readonly<Record<Column, number>>;
  readonly width: number;
}

/** Matches a header by name, in any order and case; a missing, duplicate or unknown column is structural. */
export function readHeader(fields: readonly string[], file: string, line = 1): HeaderLayout {
  const headerError = (what: string) =>
    new SalesDbError("csv_header", `${file}:${line}: ${what}`, { file, line });
  const positions: Partial<Record<Column, number>> = {};
  fields.forEach((field, index) => {
    const name = field.trim().toLowerCase();
    if (!(COLUMNS as readonly string[]).includes(name)) {
      throw headerError(`unknown column "${field.trim()}" (expected ${COLUMNS.join(", ")})`);
    }
    if (positions[name as Column] !== undefined) throw headerError(`duplicate column "${name}"`);
    positions[name as Column] = index;
  });
  const missing = COLUMNS.filter((column) => positions[column] === undefined);
  if (missing.length > 0)
    throw headerError(`missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
  return { positions: positions as Record<Column, number>, width: fields.length };
}
