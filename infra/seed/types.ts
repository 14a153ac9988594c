// The seed's inputs and outputs as the engine stores them: shared by the resource, the provider and its helpers.
import type { RuleId } from "../../loader/rules/validate";
import type { DatabaseTarget } from "../database/target";

/** How the seeder reaches PostgreSQL. */
export type SeedTarget = DatabaseTarget;

/** What `check` found in the CSV: shown by `pulumi preview`, compared by `diff`. */
export interface SeedValidation {
  readonly valid: number;
  readonly rejected: number;
  readonly byRule: Partial<Record<RuleId, number>>;
  readonly rowsSha256: string;
  readonly columns: string;
  readonly rejects: { readonly line: number; readonly rules: RuleId[] }[];
}

export interface SeedInputs {
  /** CSV and rules paths, relative to the project root unless absolute (relative keeps the state portable). */
  readonly csv: string;
  readonly rules: string;
  readonly table: string;
  readonly database: string;
  readonly user: string;
  /** Secret; used by create and update, never returned in outputs. */
  readonly password?: string;
  readonly target: SeedTarget;
  readonly maxRejectedShare?: number;
  readonly waitTimeoutSeconds: number;
  /**
   * Keep the table when the seed is deleted (`pulumi destroy`): set where the volume is retained, so that the
   * retained volume keeps its data too. A move to another table still drops the old one.
   */
  readonly keepTableOnDelete?: boolean;
  /** Hash of the CSV, the rules and the provider's code: when it is the one `check` last saw, no re-validation. */
  readonly sourceHash: string;
  /** Set by `check`. */
  readonly validation?: SeedValidation;
  /** Set by `check`: the rows the table holds once loaded (after a refresh, `read` puts the live count here). */
  readonly rowCount?: number;
  /** Set by `check`: why `up` will load, shown in the preview's diff (`rows sha256 changed`); empty when it won't. */
  readonly loadReason?: string;
}

export interface SeedOutputs extends Omit<SeedInputs, "password"> {
  readonly validation: SeedValidation;
  /** A fresh token per create or update, recorded with the table: a delete only drops a table it still owns. */
  readonly owner?: string;
  /** Rows in the table after the last create, update or read. */
  readonly rowCount: number;
}
