import type { Client } from "pg";
import { META_TABLE, ownership, type Target, type TableState } from "./bookkeeping";
import { SalesDbError } from "../errors";
import type { Logger } from "../log";
import type { ValidationReport } from "../rules/report";

/** What a load may be told to do anyway. */
export interface Overrides {
  /** Replace a table of that name that sales-db did not load. Default false: such a table is refused. */
  readonly replaceForeignTable?: boolean;
  /** Allow a load that leaves 0 rows in a table that holds rows. Default false: refused. */
  readonly allowEmpty?: boolean;
  readonly logger?: Logger;
}

/** Refuses a table sales-db did not load (a plain table only when not told to replace it). */
export function refuseForeign(state: TableState, table: Target, options: Overrides): void {
  if (ownership(state) !== "foreign") return;
  if (state.live?.relkind !== "r") {
    throw new SalesDbError(
      "foreign_table",
      `${table.display} exists and is not a plain table (relkind ${state.live?.relkind}); sales-db replaces only ` +
        `tables it loaded; nothing written`,
    );
  }
  if (options.replaceForeignTable) {
    options.logger?.warning(`Replacing ${table.display}, which sales-db did not load, as asked`);
    return;
  }
  throw new SalesDbError(
    "foreign_table",
    `${table.display} exists but was not loaded by sales-db (${whyForeign(state)}); ` +
      `refusing to replace it; nothing written`,
  );
}

/** Why a plain table of that name is not sales-db's, in the terms of its bookkeeping. */
function whyForeign(state: TableState): string {
  const recorded = state.recorded;
  if (state.live && !state.live.owned) return `it is owned by role ${state.live.owner}, not the role loading`;
  if (!recorded) return `no row in ${META_TABLE} records it`;
  if (recorded.tableOid === null) {
    return `its row in ${META_TABLE}, written by an older sales-db, does not identify the table`;
  }
  return `${META_TABLE} records another table of that name: this one was dropped and created again, or restored`;
}

/** Refuses a load with no valid row into a table that holds rows, unless told to allow it. */
export async function refuseEmpty(
  client: Client,
  state: TableState,
  table: Target,
  report: ValidationReport,
  options: Overrides,
): Promise<void> {
  if (report.valid > 0 || options.allowEmpty || !state.live) return;
  const held = await client.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${table.qualified}) AS any`,
  );
  if (!held.rows[0]?.any) return;
  throw new SalesDbError(
    "empty_result",
    `${report.file}: no valid rows (${report.rejected} rejected), and loading it would empty ${table.display}, ` +
      `which holds rows; nothing written`,
    { file: report.file },
  );
}
