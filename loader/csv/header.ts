import { SalesDbError } from "../errors";
import { COLUMNS, type Column } from "../rules/rules-file";

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

/** Whether records list the columns in table order and nothing else, so a record's text is already in COPY order. */
export function inTableOrder(header: HeaderLayout): boolean {
  return header.width === COLUMNS.length && COLUMNS.every((column, i) => header.positions[column] === i);
}
