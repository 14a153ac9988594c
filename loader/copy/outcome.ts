import { SalesDbError } from "../errors";
import type { CopyLines } from "./line-index";

/**
 * The rows the server says its COPY stored (pg-copy-streams' `rowCount`, from the command tag) must be the valid
 * rows the encoder sent: a free integrity check, made before COMMIT.
 */
export function checkCopiedRows(copied: number, sent: number, file: string): void {
  if (copied === sent) return;
  throw new SalesDbError(
    "copy_row_count",
    `${file}: the database stored ${copied} rows where ${sent} valid rows were sent; nothing written`,
    { file },
  );
}

/**
 * A row the database refused (a character its encoding cannot store, mostly) names the COPY row; the user needs
 * the CSV line, which `lines` kept while the rows were encoded (no second read: a FIFO cannot be read again).
 * Only a data exception (SQLSTATE class 22) or a broken constraint (23) is the row's fault: a full disk, a
 * cancelled or ended session, a restarting server also say which COPY row they met, and are left as they are.
 */
export function copyError(
  error: unknown,
  lines: Pick<CopyLines, "lineOf">,
  options: { readonly file: string },
): unknown {
  const copyRow = /\bCOPY [^,]+, line (\d+)/.exec(String((error as { where?: unknown }).where ?? ""))?.[1];
  const sqlState = String((error as { code?: unknown }).code ?? "");
  if (copyRow === undefined || !(error instanceof Error) || !/^2[23]/.test(sqlState)) return error;
  const line = lines.lineOf(Number(copyRow)) ?? undefined;
  const at =
    line === undefined
      ? `${options.file} (valid row ${copyRow}, too far behind the rows sent for its CSV line to be known)`
      : `${options.file}:${line}`;
  return new SalesDbError(
    "db_error",
    `${at}: the database refused this row: ${error.message}; nothing written`,
    { file: options.file, line, cause: error },
  );
}
