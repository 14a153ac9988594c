import type { Hash } from "node:crypto";
import { BinaryRows, type AcceptedSale } from "./binary/rows";
import { priceField, quantityField } from "./binary/fields";
import type { RowSink } from "./row-sink";
import { TextRows } from "./text-rows";
import type { CopyFormat } from "../rules/report";
import type { RuleSet } from "../rules/rules-file";

/** The COPY format a load uses, and why (for the `-v` log). */
export interface CopyFormatChoice {
  readonly format: CopyFormat;
  readonly reason: string;
}

/**
 * Binary when every column's type has a binary writer here: the server then parses nothing, and the client, which
 * has read each value already, writes it in a few bytes. Text when asked for (`requested`), and for NUMERIC, which
 * has none: numeric_recv cost the server as much as numeric_in (0.58 s per 1M rows either way), while the client
 * wrote base-10000 digits for every row and sent half as many bytes again (1.10 s of client CPU against 1.00).
 */
export function chooseCopyFormat(rules: RuleSet, requested?: CopyFormat): CopyFormatChoice {
  const types = Object.values(rules.columnTypes).join(", ");
  if (requested === "text") return { format: "text", reason: `text asked for (columns ${types})` };
  const { price, quantity } = rules.columnTypes;
  if (!priceField(price) || !quantityField(quantity)) {
    return { format: "text", reason: `not every column has a binary writer (${types})` };
  }
  return { format: "binary", reason: `every column has an exact binary form (${types})` };
}

/** The sink that writes valid rows in `format`, sending chunks to `send` and hashing the rows' COPY text. */
export function rowSink(
  format: CopyFormat,
  rules: RuleSet,
  accepted: AcceptedSale,
  chunkSize: number,
  send: (bytes: Buffer) => void,
  hash: Hash,
): RowSink {
  if (format === "text") return new TextRows(chunkSize, send, hash);
  const price = priceField(rules.columnTypes.price);
  const quantity = quantityField(rules.columnTypes.quantity);
  if (!price || !quantity) throw new Error(`COPY binary asked for columns without a binary writer`);
  return new BinaryRows(chunkSize, send, hash, accepted, price, quantity);
}

/** The options of the COPY statement for `format`. */
export function copyOptions(format: CopyFormat): string {
  return format === "binary" ? "FORMAT binary, FREEZE" : "FREEZE";
}
