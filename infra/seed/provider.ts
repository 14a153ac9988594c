// The SalesSeed provider's work, as plain functions over plain values. The dynamic provider (resource.ts) calls
// these from the Pulumi engine's provider host; tests call them directly. Nothing here imports @pulumi/pulumi.
import { SalesDbError } from "../../loader/errors";
import { randomUUID } from "node:crypto";
import { projectPath } from "./project-path";
import { passwordFor, passwordUnlessGone, withDatabase } from "../database/connect";
import { gate, gateError, withSeedHint } from "./errors";
import type { SeedInputs, SeedOutputs, SeedValidation } from "./types";

// The loader's data path (pg, csv-parse, the rules) loads on first use: the provider host loads this module on
// every preview, and a no-op check needs none of it (about 100 ms of each preview's critical path). Plain
// requires, so that the seed's source hash still follows them (provider-code.ts).
/* eslint-disable @typescript-eslint/no-require-imports */
const load = (): typeof import("../../loader/db/load") => require("../../loader/db/load");
const rulesFile = (): typeof import("../../loader/rules/rules-file") =>
  require("../../loader/rules/rules-file");
const salesStream = (): typeof import("../../loader/copy/sales-stream") =>
  require("../../loader/copy/sales-stream");
/* eslint-enable @typescript-eslint/no-require-imports */

/** How many rejects the seed keeps in the state for the preview to list; `sales-db validate` lists them all. */
const PREVIEW_REJECTS = 50;

/**
 * `check`: validates the CSV at preview time, unless the old inputs already hold the validation of exactly these
 * files (same `sourceHash`). A structural error, a bad rules file or the gate fails the preview.
 */
export async function checkSeed(
  olds: Partial<SeedInputs>,
  news: SeedInputs,
): Promise<{ inputs: SeedInputs; failures: { property: string; reason: string }[] }> {
  try {
    const validation = knownValidation(olds, news) ?? (await validate(news));
    gate(validation, news);
    const checked = { ...news, validation, rowCount: validation.valid };
    const loadReason = olds.validation ? loadReasons(olds as SeedInputs, checked).join("; ") : "first load";
    return { inputs: { ...checked, loadReason }, failures: [] };
  } catch (error) {
    if (!(error instanceof SalesDbError)) throw error;
    const property =
      error.code === "rules_invalid" || error.file === projectPath(news.rules) ? "rules" : "csv";
    return { inputs: news, failures: [{ property, reason: error.message }] };
  }
}

/** The validation `check` recorded last time, when the CSV, the rules and the code are unchanged since. */
function knownValidation(olds: Partial<SeedInputs>, news: SeedInputs): SeedValidation | undefined {
  const same = olds.sourceHash === news.sourceHash && olds.csv === news.csv && olds.rules === news.rules;
  return same ? olds.validation : undefined;
}

async function validate(news: SeedInputs): Promise<SeedValidation> {
  const rules = await rulesFile().loadRules(projectPath(news.rules));
  const report = await salesStream().validateFile({
    file: projectPath(news.csv),
    rules,
    maxRejects: PREVIEW_REJECTS,
  });
  return {
    valid: report.valid,
    rejected: report.rejected,
    byRule: Object.fromEntries(Object.entries(report.byRule).filter(([, count]) => count > 0)),
    rowsSha256: report.sha256,
    columns: JSON.stringify(rules.columnTypes),
    rejects: report.rejects.map((reject) => ({ line: reject.line, rules: reject.rules })),
  };
}

/**
 * Why `up` would load: the only changes that make the loader write. A changed CSV whose valid rows are the same,
 * a changed gate or timeout, or provider code that loads the same rows, is no load and so no change.
 */
function loadReasons(olds: SeedInputs | SeedOutputs, news: SeedInputs): string[] {
  const reasons: string[] = [];
  if (whereTo(olds) !== whereTo(news)) reasons.push(`moves from ${seedId(olds)} to ${seedId(news)}`);
  if (olds.user !== news.user) reasons.push(`user ${olds.user} → ${news.user}`);
  if (olds.validation?.rowsSha256 !== news.validation?.rowsSha256) reasons.push("rows sha256 changed");
  if (olds.validation?.columns !== news.validation?.columns) reasons.push("rules changed (column types)");
  else if (
    olds.validation?.rowsSha256 === news.validation?.rowsSha256 &&
    news.validation !== undefined &&
    olds.rowCount !== undefined && // inputs recorded before rowCount was one
    olds.rowCount !== news.validation.valid
  ) {
    // A refresh found the table holding other rows than the CSV's valid ones.
    reasons.push(`rowCount ${olds.rowCount} → ${news.validation.valid} (drift)`);
  }
  return reasons;
}

/** Where the rows go, independent of the key order of objects read back from the state. */
function whereTo(seed: Pick<SeedInputs, "target" | "database" | "table">): string {
  const { secretName: _name, secretKey: _key, ...where } = { secretName: "", secretKey: "", ...seed.target };
  return JSON.stringify([
    Object.entries(where).sort(([a], [b]) => a.localeCompare(b)),
    seed.database,
    seed.table,
  ]);
}

/**
 * Whether a setting changed that loads nothing but that `read` and `delete` take from the state's outputs: an
 * unchanged seed keeps its old outputs, so without an update `pulumi destroy` would drop a table the stack now
 * says to keep.
 */
function settingsChanged(olds: SeedInputs | SeedOutputs, news: SeedInputs): boolean {
  const secretOf = (seed: SeedInputs | SeedOutputs) =>
    seed.target.mode === "port-forward" ? `${seed.target.secretName}/${seed.target.secretKey}` : "";
  return (
    (olds.keepTableOnDelete ?? false) !== (news.keepTableOnDelete ?? false) ||
    olds.waitTimeoutSeconds !== news.waitTimeoutSeconds ||
    olds.maxRejectedShare !== news.maxRejectedShare ||
    secretOf(olds) !== secretOf(news)
  );
}

/**
 * `diff`: an update when `up` would load (see `loadReasons`), or when a setting the outputs must follow changed
 * (see `settingsChanged`); never a replace.
 */
export function diffSeed(
  olds: SeedOutputs,
  news: SeedInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const changes = loadReasons(olds, news).length > 0 || settingsChanged(olds, news);
  return { changes, replaces: [], deleteBeforeReplace: false };
}

/** `create`: loads the valid rows. */
export async function createSeed(inputs: SeedInputs): Promise<{ id: string; outs: SeedOutputs }> {
  const outs = await applySeed(inputs);
  return { id: seedId(inputs), outs };
}

/**
 * `update`: reloads (a no-op when the rows are the same), then drops the old table if the seed moved. The drop is
 * scoped to the old owner token, so a "move" that reaches the same table under another name keeps its rows. A
 * change of settings alone only updates the outputs.
 */
export async function updateSeed(olds: SeedOutputs, news: SeedInputs): Promise<{ outs: SeedOutputs }> {
  if (loadReasons(olds, news).length === 0) {
    // Only settings changed: the table holds these rows already, and the database is not even reached.
    const { password: _secret, ...settings } = news;
    return { outs: { ...settings, validation: olds.validation, rowCount: olds.rowCount, owner: olds.owner } };
  }
  const outs = await applySeed(news);
  if (seedId(olds) !== seedId(news)) {
    await dropOwnedTable(olds, olds.user === news.user ? news.password : undefined);
  }
  return { outs };
}

/**
 * `read`: the live row count and recorded hash, so that `pulumi refresh` shows drift. A drift goes into the
 * inputs too, so that the next preview shows what a load would change (`rowCount 2 → 3`), not an update of nothing.
 */
export async function readSeed(
  id: string,
  props: SeedOutputs | undefined,
): Promise<{ id?: string; props?: SeedOutputs; inputs?: Omit<SeedOutputs, "owner"> }> {
  if (!props) return {}; // nothing recorded to read from (an import, which a seed does not support): not found
  const password = await passwordUnlessGone(props);
  if (password === null) return {};
  const state = await withDatabase(props, password, (connection) =>
    load().inspectTable({ ...connection, table: props.table }),
  );
  if (!state.exists) return {}; // the table is gone: the engine drops the seed from the state
  // A table written to, altered or replaced by hand since the load shows as drift, which the next up repairs.
  const rowsSha256 = state.untouched
    ? (state.sha256 ?? "")
    : `modified since loaded (${state.sha256 ?? "not ours"})`;
  const live = {
    ...props,
    rowCount: state.rowCount,
    validation: { ...props.validation, rowsSha256 },
  };
  const drifted =
    live.rowCount !== props.rowCount || live.validation.rowsSha256 !== props.validation.rowsSha256;
  if (!drifted) return { id, props: live }; // the inputs stay as they are, the secret password included
  const { owner: _owner, ...inputs } = live;
  return { id, props: live, inputs };
}

/**
 * `delete` (`pulumi destroy`): drops the table the seed owns (if it still does) and its bookkeeping row, unless
 * the seed keeps its table (a retained volume keeps its data).
 */
export async function deleteSeed(props: SeedOutputs): Promise<void> {
  if (props.keepTableOnDelete) return;
  await dropOwnedTable(props);
}

/** Drops the table the seed owns, if it still does, and its bookkeeping row; nothing else. */
async function dropOwnedTable(props: SeedOutputs, knownPassword?: string): Promise<void> {
  const password = knownPassword ?? (await passwordUnlessGone(props));
  if (password === null) return;
  await withDatabase(props, password, (connection) =>
    load().dropSales({ ...connection, table: props.table, onlyIfOwner: props.owner }),
  );
}

async function applySeed(inputs: SeedInputs): Promise<SeedOutputs> {
  if (!inputs.validation) throw new Error("SalesSeed inputs lack the validation that check adds");
  const password = inputs.password ?? (await passwordFor(inputs));
  const rules = await rulesFile().loadRules(projectPath(inputs.rules));
  const owner = randomUUID();
  const validation = inputs.validation;
  const report = await withDatabase(inputs, password, (connection) =>
    load()
      .loadSales({
        ...connection,
        file: projectPath(inputs.csv),
        rules,
        table: inputs.table,
        maxRejects: PREVIEW_REJECTS,
        // Checked again at write time: the file may have changed since preview.
        maxRejectedShare: inputs.maxRejectedShare,
        owner,
      })
      .catch((error: unknown) => Promise.reject(withSeedHint(gateError(error, inputs, validation)))),
  );
  const { password: _secret, ...rest } = inputs;
  return {
    ...rest,
    validation: {
      ...inputs.validation,
      rowsSha256: report.sha256,
      valid: report.valid,
      rejected: report.rejected,
    },
    rowCount: report.valid,
    owner,
  };
}

/** A stable id: where the table lives. */
function seedId(seed: Pick<SeedInputs, "target" | "database" | "table">): string {
  const where =
    seed.target.mode === "port-forward"
      ? `${seed.target.namespace}/${seed.target.pod}`
      : `${seed.target.host}:${seed.target.port}`;
  return `${where}/${seed.database}/${seed.table}`;
}
