import { META_TABLE } from "./bookkeeping";
import { printable, SalesDbError } from "../errors";

/** A checked table name, before its schema is resolved on the server. */
export interface TableName {
  /** As the user wrote it, made one printable line. */
  readonly display: string;
  /** The schema and the table as PostgreSQL names them (folded, unquoted). */
  readonly schema: string | null;
  readonly name: string;
}

/** Tables a load creates and renames into place: a user's table is never named like this. */
export const STAGING_PREFIX = "sales_db_staging_";
/** NAMEDATALEN - 1: PostgreSQL cuts a longer identifier short, which would name another table. */
const MAX_IDENTIFIER_BYTES = 63;
/** An unquoted identifier, as PostgreSQL's scanner reads one: a letter, `_` or a non-ASCII character first. */
const UNQUOTED = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/;

/**
 * `table` or `schema.table`, read as PostgreSQL reads an identifier: unquoted, it is folded to lower case (ASCII
 * letters only, as PostgreSQL does in UTF-8), so `Sales` is `sales`; in double quotes it is kept as written, so
 * `"Sales"` is another table, and `""` stands for one `"`. Refused (a usage error): anything else, a part longer
 * than 63 bytes, and sales-db's own or the system's names.
 */
export function tableName(table: string): TableName {
  const parts = identifiers(table);
  if (!parts) {
    throw new SalesDbError(
      "usage",
      `invalid table name "${printable(table)}": use an identifier, optionally schema.table, each plain ` +
        `(letters, digits, _ and $; folded to lower case) or in double quotes (kept as written), at most 63 bytes`,
    );
  }
  const name = parts[parts.length - 1] as string;
  const schema = parts.length === 2 ? (parts[0] as string) : null;
  const display = printable(table);
  if (name === META_TABLE || name.startsWith(STAGING_PREFIX)) {
    throw new SalesDbError("usage", `table name "${display}" is reserved for sales-db's own bookkeeping`);
  }
  if (schema !== null && (/^pg_/.test(schema) || schema === "information_schema")) {
    throw new SalesDbError(
      "usage",
      `table "${display}" is in a system schema (pg_*, information_schema); use a schema of your own`,
    );
  }
  return { display, schema, name };
}

/** The one or two dot-separated identifiers of `text`, folded or unquoted; null when it is not that. */
function identifiers(text: string): string[] | null {
  const parts: string[] = [];
  let rest = text;
  for (;;) {
    let part: string;
    if (rest.startsWith('"')) {
      const quoted = /^"((?:[^"]|"")+)"/.exec(rest);
      if (!quoted) return null;
      part = (quoted[1] as string).replace(/""/g, '"');
      rest = rest.slice(quoted[0].length);
    } else {
      const plain = UNQUOTED.exec(rest)?.[0];
      if (!plain) return null;
      part = plain.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
      rest = rest.slice(plain.length);
    }
    if (part.includes("\0") || Buffer.byteLength(part) > MAX_IDENTIFIER_BYTES) return null;
    parts.push(part);
    if (rest === "") return parts.length <= 2 ? parts : null;
    if (!rest.startsWith(".")) return null;
    rest = rest.slice(1);
  }
}
