import { META_TABLE } from "./bookkeeping";
import { SalesDbError } from "../errors";

/** A checked table name, before its schema is resolved on the server. */
export interface TableName {
  readonly display: string;
  readonly schema: string | null;
  readonly name: string;
}

/** Tables a load creates and renames into place: a user's table is never named like this. */
export const STAGING_PREFIX = "sales_db_staging_";
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `table` or `schema.table`, refused (a usage error) when it is not a plain name or is sales-db's or the system's. */
export function tableName(table: string): TableName {
  const parts = table.split(".");
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new SalesDbError(
      "usage",
      `invalid table name "${table}": use letters, digits and _ (at most 63), optionally schema.table`,
    );
  }
  const name = parts[parts.length - 1] as string;
  const schema = parts.length === 2 ? (parts[0] as string) : null;
  if (name === META_TABLE || name.startsWith(STAGING_PREFIX)) {
    throw new SalesDbError("usage", `table name "${table}" is reserved for sales-db's own bookkeeping`);
  }
  if (schema !== null && (/^pg_/i.test(schema) || schema.toLowerCase() === "information_schema")) {
    throw new SalesDbError(
      "usage",
      `table "${table}" is in a system schema (pg_*, information_schema); use a schema of your own`,
    );
  }
  return { display: table, schema, name };
}
