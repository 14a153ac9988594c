// The SalesSeed provider's work, as plain functions over plain values. The dynamic provider (seed.ts) calls these
// from the Pulumi engine's provider host; tests call them directly. Nothing here imports @pulumi/pulumi.
import { SalesDbError } from "../loader/errors";
import { dropSales, inspectSales, loadSales } from "../loader/load";
import { randomUUID } from "node:crypto";
import { checkRejectedShare } from "../loader/report";
import type { RuleId } from "../loader/validate";
import { projectPath } from "../loader/project";
import { loadRules } from "../loader/rules";
import { validateFile } from "../loader/sales-stream";
import { isNotFound, openPortForward, readSecretKey } from "./tunnel";

/** How the seeder reaches PostgreSQL. */
export type SeedTarget =
  | {
      readonly mode: "port-forward";
      readonly namespace: string;
      readonly pod: string;
      readonly port: number;
      /** The Secret holding the password, read by `read` and `delete`, which get no secret inputs. */
      readonly secretName: string;
      readonly secretKey: string;
      readonly context?: string;
    }
  | { readonly mode: "direct"; readonly host: string; readonly port: number };

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
  /** Hash of the CSV, the rules and the provider's code, so that any change reaches `diff`. */
  readonly sourceHash: string;
  /** Set by `check`. */
  readonly validation?: SeedValidation;
}

export interface SeedOutputs extends Omit<SeedInputs, "password"> {
  readonly validation: SeedValidation;
  /** A fresh token per create or update, recorded with the table: a delete only drops a table it still owns. */
  readonly owner?: string;
  /** Rows in the table after the last create, update or read. */
  readonly rowCount: number;
}

/** How many rejects the seed keeps in the state for the preview to list; `sales-db validate` lists them all. */
const PREVIEW_REJECTS = 50;

/** `check`: validates the CSV at preview time. A structural error, a bad rules file or the gate fails the preview. */
export async function checkSeed(
  news: SeedInputs,
): Promise<{ inputs: SeedInputs; failures: { property: string; reason: string }[] }> {
  try {
    const rules = await loadRules(projectPath(news.rules));
    const report = await validateFile({ file: projectPath(news.csv), rules, maxRejects: PREVIEW_REJECTS });
    checkRejectedShare(report, news.maxRejectedShare);
    const byRule = Object.fromEntries(Object.entries(report.byRule).filter(([, count]) => count > 0));
    const validation: SeedValidation = {
      valid: report.valid,
      rejected: report.rejected,
      byRule,
      rowsSha256: report.sha256,
      columns: JSON.stringify(rules.columnTypes),
      rejects: report.rejects.map((reject) => ({ line: reject.line, rules: reject.rules })),
    };
    return { inputs: { ...news, validation }, failures: [] };
  } catch (error) {
    if (!(error instanceof SalesDbError)) throw error;
    const property =
      error.code === "rules_invalid" || error.file === projectPath(news.rules) ? "rules" : "csv";
    return { inputs: news, failures: [{ property, reason: error.message }] };
  }
}

/** `diff`: data, rules, table or target changes are an update (the loader swaps atomically); never a replace. */
export function diffSeed(
  olds: SeedOutputs,
  news: SeedInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const fingerprint = (seed: SeedInputs) =>
    JSON.stringify([
      seed.validation?.rowsSha256,
      seed.validation?.columns,
      seed.table,
      seed.database,
      seed.user,
      // Sorted keys: the engine does not promise the key order of objects read back from the state.
      Object.entries(seed.target).sort(([a], [b]) => a.localeCompare(b)),
      seed.sourceHash,
      seed.maxRejectedShare ?? null,
    ]);
  // A refresh that found fewer (or more) rows than the CSV's valid ones makes the next `up` reload them.
  const drifted = news.validation !== undefined && olds.rowCount !== news.validation.valid;
  return {
    changes: drifted || fingerprint(olds) !== fingerprint(news),
    replaces: [],
    deleteBeforeReplace: false,
  };
}

/** `create`: loads the valid rows. */
export async function createSeed(inputs: SeedInputs): Promise<{ id: string; outs: SeedOutputs }> {
  const outs = await applySeed(inputs);
  return { id: seedId(inputs), outs };
}

/**
 * `update`: reloads (a no-op when the rows are the same), then drops the old table if the seed moved. The drop is
 * scoped to the old owner token, so a "move" that reaches the same table under another name keeps its rows.
 */
export async function updateSeed(olds: SeedOutputs, news: SeedInputs): Promise<{ outs: SeedOutputs }> {
  const outs = await applySeed(news);
  if (seedId(olds) !== seedId(news)) {
    await deleteSeed(olds, olds.user === news.user ? news.password : undefined);
  }
  return { outs };
}

/** `read`: the live row count and recorded hash, so that `pulumi refresh` shows drift. */
export async function readSeed(
  id: string,
  props: SeedOutputs,
): Promise<{ id?: string; props?: SeedOutputs }> {
  const password = await passwordUnlessGone(props);
  if (password === null) return {};
  const state = await withDatabase(props, password, (connection) =>
    inspectSales({ ...connection, table: props.table }),
  );
  if (!state.exists) return {}; // the table is gone: the engine drops the seed from the state
  // A table written to, altered or replaced by hand since the load shows as drift, which the next up repairs.
  const rowsSha256 = state.untouched
    ? (state.sha256 ?? "")
    : `modified since loaded (${state.sha256 ?? "not ours"})`;
  return {
    id,
    props: { ...props, rowCount: state.rowCount, validation: { ...props.validation, rowsSha256 } },
  };
}

/** `delete`: drops the table the seed owns (if it still does) and its bookkeeping row; nothing else. */
export async function deleteSeed(props: SeedOutputs, knownPassword?: string): Promise<void> {
  const password = knownPassword ?? (await passwordUnlessGone(props));
  if (password === null) return;
  await withDatabase(props, password, (connection) =>
    dropSales({ ...connection, table: props.table, onlyIfOwner: props.owner }),
  );
}

async function applySeed(inputs: SeedInputs): Promise<SeedOutputs> {
  if (!inputs.validation) throw new Error("SalesSeed inputs lack the validation that check adds");
  const password = inputs.password ?? (await passwordFor(inputs));
  const rules = await loadRules(projectPath(inputs.rules));
  const owner = randomUUID();
  const report = await withDatabase(inputs, password, (connection) =>
    loadSales({
      ...connection,
      file: projectPath(inputs.csv),
      rules,
      table: inputs.table,
      maxRejects: PREVIEW_REJECTS,
      // Checked again at write time: the file may have changed since preview.
      maxRejectedShare: inputs.maxRejectedShare,
      owner,
    }),
  ).catch((error: unknown) => {
    throw withSeedHint(error);
  });
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

/** What a `pulumi up` user can do about a refusal, in the stack's own terms. */
const SEED_HINTS: Record<string, string> = {
  foreign_table:
    "set seedTable to another table, or drop or rename that one yourself (the seed never replaces a table it did not load)",
  empty_result: "fix the CSV, or drop the table yourself if emptying it is intended",
};

function withSeedHint(error: unknown): unknown {
  if (!(error instanceof SalesDbError) || !(error.code in SEED_HINTS)) return error;
  return new SalesDbError(error.code, `SalesSeed: ${error.message}; ${SEED_HINTS[error.code]}`, {
    file: error.file,
    cause: error,
  });
}

/** A stable id: where the table lives. */
export function seedId(seed: Pick<SeedInputs, "target" | "database" | "table">): string {
  const where =
    seed.target.mode === "port-forward"
      ? `${seed.target.namespace}/${seed.target.pod}`
      : `${seed.target.host}:${seed.target.port}`;
  return `${where}/${seed.database}/${seed.table}`;
}

/** Runs `work` with connection options for the seed's database, through a port-forward when asked. */
export async function withDatabase<T>(
  seed: Pick<SeedInputs, "target" | "database" | "user" | "waitTimeoutSeconds">,
  password: string,
  work: (connection: { connectionString: string; waitTimeoutMs: number }) => Promise<T>,
): Promise<T> {
  const connection = (host: string, port: number) => ({
    connectionString: `postgres://${encodeURIComponent(seed.user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(seed.database)}`,
    waitTimeoutMs: seed.waitTimeoutSeconds * 1000,
  });
  const target = seed.target;
  if (target.mode === "direct") return work(connection(target.host, target.port));

  const tunnel = await openPortForward(target);
  try {
    return await work(connection(tunnel.host, tunnel.port));
  } catch (error) {
    if (error instanceof SalesDbError && error.code === "db_unreachable") {
      throw new SalesDbError(
        "db_unreachable",
        `PostgreSQL in pod ${target.namespace}/${target.pod} port ${target.port} did not accept connections through ` +
          `the port-forward within ${seed.waitTimeoutSeconds}s; the Kubernetes API said: ${tunnel.lastError() ?? "nothing"}; ` +
          `the connection said: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await tunnel.close();
  }
}

/** The password, or null when the namespace or Secret is gone: then so is the database the table lived in. */
async function passwordUnlessGone(seed: Pick<SeedInputs, "target">): Promise<string | null> {
  try {
    return await passwordFor(seed);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** The password for methods without secret inputs: the Kubernetes Secret, or PGPASSWORD in direct mode. */
async function passwordFor(seed: Pick<SeedInputs, "target">): Promise<string> {
  const target = seed.target;
  if (target.mode === "port-forward") {
    return readSecretKey({
      namespace: target.namespace,
      name: target.secretName,
      key: target.secretKey,
      context: target.context,
    });
  }
  const password = process.env.PGPASSWORD;
  if (password === undefined)
    throw new Error("direct mode: set PGPASSWORD for pulumi refresh and destroy of the seed");
  return password;
}
