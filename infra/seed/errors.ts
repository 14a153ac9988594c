// What a `pulumi up` user reads when the seed refuses: the rejected-share gate and the loader's refusals, in the
// stack's own terms (config keys, the command that lists every reject).
import { SalesDbError } from "../../loader/errors";
import { checkRejectedShare, describeReject } from "../../loader/rules/report";
import type { SeedInputs, SeedValidation } from "./types";

/** Lines the gate's message lists; the rest are counted, and `npx sales-db validate` lists them all. */
const GATE_LISTED = 5;

/**
 * The rejected-share gate, as one line that names the config key, the rejected lines and both ways out. Runs on
 * the validation (which `check` may have reused), and again at write time inside the loader.
 */
export function gate(validation: SeedValidation, seed: SeedInputs): void {
  try {
    checkRejectedShare(
      { file: seed.csv, valid: validation.valid, rejected: validation.rejected },
      seed.maxRejectedShare,
    );
  } catch (error) {
    throw gateError(error, seed, validation);
  }
}

export function gateError(error: unknown, seed: SeedInputs, validation?: SeedValidation): unknown {
  if (!(error instanceof SalesDbError) || error.code !== "gate") return error;
  const listed = (validation?.rejects ?? [])
    .slice(0, GATE_LISTED)
    .map((reject) => describeReject({ ...reject, values: {} }).replace(/:\s*$/, ""));
  const unlisted = (validation?.rejected ?? 0) - listed.length;
  const total = validation ? validation.valid + validation.rejected : 0;
  const needed = total === 0 ? 1 : Math.ceil((validation!.rejected / total) * 100) / 100;
  const lines = listed.length
    ? `rejected ${listed.join(", ")}${unlisted > 0 ? ` and ${unlisted} more` : ""} ` +
      `(all of them: ${validateCommand(seed)}); `
    : "";
  return new SalesDbError(
    "gate",
    `${error.message}: seedMaxRejectedShare is ${seed.maxRejectedShare}; ${lines}` +
      `fix those rows, or allow the share with \`pulumi config set seedMaxRejectedShare ${needed}\``,
    { file: error.file, cause: error },
  );
}

/** The command that lists every reject, runnable from the project without installing anything globally. */
export function validateCommand(seed: Pick<SeedInputs, "csv" | "rules">): string {
  return `npx sales-db validate --csv ${seed.csv} --rules ${seed.rules}`;
}

/** What a `pulumi up` user can do about a refusal, in the stack's own terms. */
const SEED_HINTS: Record<string, string> = {
  foreign_table:
    "set seedTable to another table, or drop or rename that one yourself (the seed never replaces a table it did not load)",
  empty_result: "fix the CSV, or drop the table yourself if emptying it is intended",
};

export function withSeedHint(error: unknown): unknown {
  if (!(error instanceof SalesDbError) || !(error.code in SEED_HINTS)) return error;
  return new SalesDbError(error.code, `SalesSeed: ${error.message}; ${SEED_HINTS[error.code]}`, {
    file: error.file,
    cause: error,
  });
}
