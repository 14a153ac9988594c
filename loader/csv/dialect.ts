import type { Options } from "csv-parse/sync";
import type { ErrorCode } from "../errors";

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
