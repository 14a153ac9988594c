import { isUtf8 } from "node:buffer";
import { SalesDbError } from "./errors";
import { COLUMNS, type Column } from "./rules";

/**
 * Receives each record's fields and the line it starts on (the header is line 1). `plain` promises that no field
 * holds a backslash, tab, CR or LF, so a COPY encoder may skip escaping.
 */
export type RecordHandler = (fields: string[], line: number, plain: boolean) => void;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
/** A record longer than this is an unterminated quote in practice; failing early keeps memory flat. */
export const MAX_RECORD_CHARS = 1 << 20;

/**
 * An incremental RFC 4180 parser over UTF-8 bytes: quoted fields may hold commas, doubled quotes and newlines;
 * CRLF and LF both end records; a leading BOM is dropped; blank lines are skipped. Lines without quotes take a
 * fast path (indexOf + split), which is what keeps validation near COPY speed.
 */
export class CsvParser {
  /** Bytes of a character split across chunks, kept for the next chunk. */
  private carry: Buffer = Buffer.alloc(0);
  private atStart = true;
  /** Text of the record that is not complete yet. */
  private pending = "";
  /** The line on which `pending` starts. */
  private line = 1;

  constructor(
    private readonly file: string,
    private readonly onRecord: RecordHandler,
  ) {}

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
    this.consume(text);
  }

  /** Flushes the last record; throws if the file ends inside a quoted field or a character. */
  end(): void {
    if (this.carry.length > 0) {
      throw this.encodingError("invalid UTF-8 at the end of the file", this.lineAfterPending());
    }
    if (this.pending !== "") this.consume("\n");
    if (this.pending !== "") throw this.unterminated();
  }

  private consume(chunk: string): void {
    const nul = chunk.indexOf("\u0000");
    if (nul !== -1) {
      throw this.encodingError("NUL byte", this.lineAfterPending() + countNewlines(chunk, 0, nul));
    }
    const text = this.pending === "" ? chunk : this.pending + chunk;
    const length = text.length;
    let pos = 0;
    let line = this.line;
    let nextQuote = text.indexOf('"');
    let nextBackslash = text.indexOf("\\");
    let nextTab = text.indexOf("\t");
    let nextCr = text.indexOf("\r");

    while (pos < length) {
      const newline = text.indexOf("\n", pos);
      if (newline === -1) break;
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
      if (nextQuote === -1 || nextQuote > newline) {
        let end = newline;
        if (end > pos && text.charCodeAt(end - 1) === CR) end--;
        if (nextBackslash !== -1 && nextBackslash < pos) nextBackslash = text.indexOf("\\", pos);
        if (nextTab !== -1 && nextTab < pos) nextTab = text.indexOf("\t", pos);
        if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf("\r", pos);
        // `end` excludes the line's own CR; a CR before it is data that COPY must see escaped.
        const plain =
          (nextBackslash === -1 || nextBackslash >= end) &&
          (nextTab === -1 || nextTab >= end) &&
          (nextCr === -1 || nextCr >= end);
        if (end > pos) this.onRecord(splitPlain(text, pos, end), line, plain);
        line++;
        pos = newline + 1;
        continue;
      }
      const next = this.parseQuotedRecord(text, pos, line);
      if (next === null) break;
      pos = next.end;
      line = next.line;
    }

    this.pending = pos === 0 ? text : text.slice(pos);
    this.line = line;
    if (this.pending.length > MAX_RECORD_CHARS) {
      // Only a record that opened a quote can be an unterminated quote; a quote-free one is just too long.
      const why = this.pending.includes('"') ? "; is a quote left open?" : "";
      throw new SalesDbError(
        "csv_syntax",
        `${this.file}:${this.line}: record longer than the ${MAX_RECORD_CHARS >> 20} MiB limit${why}`,
        { file: this.file, line: this.line },
      );
    }
  }

  /** Parses one record that holds a quote. Returns null when the text ends before the record does. */
  private parseQuotedRecord(
    text: string,
    start: number,
    startLine: number,
  ): { end: number; line: number } | null {
    const length = text.length;
    const fields: string[] = [];
    let i = start;
    let line = startLine;
    for (;;) {
      if (i < length && text.charCodeAt(i) === QUOTE) {
        let value = "";
        let from = i + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote === -1 || quote + 1 >= length) return null; // the next character decides; wait for it
          line += countNewlines(text, from, quote);
          if (text.charCodeAt(quote + 1) === QUOTE) {
            value += text.slice(from, quote + 1);
            from = quote + 2;
            continue;
          }
          value += text.slice(from, quote);
          i = quote + 1;
          break;
        }
        fields.push(value);
      } else {
        // Unquoted: a quote inside the field is taken literally (`12" screen`), as most producers expect.
        let j = i;
        while (j < length) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF) break;
          j++;
        }
        if (j >= length) return null;
        const end = j > i && text.charCodeAt(j - 1) === CR && text.charCodeAt(j) === LF ? j - 1 : j;
        fields.push(text.slice(i, end));
        i = j;
      }

      if (i >= length) return null;
      let c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === CR) {
        if (i + 1 >= length) return null;
        i++;
        c = text.charCodeAt(i);
      }
      if (c === LF) {
        this.onRecord(fields, startLine, false);
        return { end: i + 1, line: line + 1 };
      }
      throw new SalesDbError(
        "csv_syntax",
        `${this.file}:${line}: unexpected text after a closing quote (a quote inside a quoted field must be doubled)`,
        { file: this.file, line },
      );
    }
  }

  /** The line on which the next chunk's text starts: after the incomplete record carried over. */
  private lineAfterPending(): number {
    return this.line + countNewlines(this.pending, 0, this.pending.length);
  }

  private unterminated(): SalesDbError {
    return new SalesDbError(
      "csv_syntax",
      `${this.file}:${this.line}: unterminated quoted field (the quote opened on this line never closes)`,
      { file: this.file, line: this.line },
    );
  }

  private encodingError(what: string, line: number): SalesDbError {
    return new SalesDbError("csv_encoding", `${this.file}:${line}: ${what}; the file must be UTF-8 text`, {
      file: this.file,
      line,
    });
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
