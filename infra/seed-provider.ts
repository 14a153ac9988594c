// The SalesSeed provider's work, as plain functions over plain values. The dynamic provider (seed-resource.ts) calls these
// from the Pulumi engine's provider host; tests call them directly. Nothing here imports @pulumi/pulumi.
import { SalesDbError } from "../loader/errors";
import { dropSales, inspectSales, loadSales } from "../loader/load";
import { randomUUID } from "node:crypto";
import { checkRejectedShare, describeReject } from "../loader/report";
import type { RuleId } from "../loader/validate";
import { projectPath } from "./project-path";
import { loadRules } from "../loader/rules";
import { validateFile } from "../loader/sales-stream";
import { isNotFound, openPortForward, readSecretKey, TUNNEL_LIMITS } from "./tunnel";

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
  const rules = await loadRules(projectPath(news.rules));
  const report = await validateFile({ file: projectPath(news.csv), rules, maxRejects: PREVIEW_REJECTS });
  return {
    valid: report.valid,
    rejected: report.rejected,
    byRule: Object.fromEntries(Object.entries(report.byRule).filter(([, count]) => count > 0)),
    rowsSha256: report.sha256,
    columns: JSON.stringify(rules.columnTypes),
    rejects: report.rejects.map((reject) => ({ line: reject.line, rules: reject.rules })),
  };
}

/** Lines the gate's message lists; the rest are counted, and `npx sales-db validate` lists them all. */
const GATE_LISTED = 5;

/**
 * The rejected-share gate, as one line that names the config key, the rejected lines and both ways out. Runs on
 * the validation (which `check` may have reused), and again at write time inside the loader.
 */
function gate(validation: SeedValidation, seed: SeedInputs): void {
  try {
    checkRejectedShare(
      { file: seed.csv, valid: validation.valid, rejected: validation.rejected },
      seed.maxRejectedShare,
    );
  } catch (error) {
    throw gateError(error, seed, validation);
  }
}

function gateError(error: unknown, seed: SeedInputs, validation?: SeedValidation): unknown {
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

/**
 * Why `up` would load: the only changes that make the loader write. A changed CSV whose valid rows are the same,
 * a changed gate or timeout, or provider code that loads the same rows, is no load and so no change.
 */
export function loadReasons(olds: SeedInputs | SeedOutputs, news: SeedInputs): string[] {
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

/** `diff`: an update exactly when `up` would load (see `loadReasons`); never a replace. */
export function diffSeed(
  olds: SeedOutputs,
  news: SeedInputs,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  return { changes: loadReasons(olds, news).length > 0, replaces: [], deleteBeforeReplace: false };
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
    inspectSales({ ...connection, table: props.table }),
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
    dropSales({ ...connection, table: props.table, onlyIfOwner: props.owner }),
  );
}

async function applySeed(inputs: SeedInputs): Promise<SeedOutputs> {
  if (!inputs.validation) throw new Error("SalesSeed inputs lack the validation that check adds");
  const password = inputs.password ?? (await passwordFor(inputs));
  const rules = await loadRules(projectPath(inputs.rules));
  const owner = randomUUID();
  const validation = inputs.validation;
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
    }).catch((error: unknown) => Promise.reject(withSeedHint(gateError(error, inputs, validation)))),
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

/**
 * Runs `work` with connection options for the seed's database, through a port-forward when asked. The wait for
 * the pod and for PostgreSQL share one deadline; a tunnel that breaks ends the work at once.
 */
export async function withDatabase<T>(
  seed: Pick<SeedInputs, "target" | "database" | "user" | "waitTimeoutSeconds">,
  password: string,
  work: (connection: { connectionString: string; waitTimeoutMs: number }) => Promise<T>,
  limits = TUNNEL_LIMITS,
): Promise<T> {
  const deadline = Date.now() + seed.waitTimeoutSeconds * 1000;
  const connection = (host: string, port: number) => ({
    connectionString: `postgres://${encodeURIComponent(seed.user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(seed.database)}`,
    waitTimeoutMs: Math.max(1_000, deadline - Date.now()),
  });
  const target = seed.target;
  if (target.mode === "direct") {
    return work(connection(target.host, target.port)).catch((error: unknown) =>
      Promise.reject(credentialsDrift(error, seed, `${target.host}:${target.port}`)),
    );
  }

  const tunnel = await openPortForward(target, {
    ...limits,
    podReadyMs: seed.waitTimeoutSeconds * 1000,
  });
  const pod = `pod ${target.namespace}/${target.pod}`;
  try {
    const working = work(connection(tunnel.host, tunnel.port));
    working.catch(() => undefined); // when the tunnel breaks first, the work's own failure comes later
    return await Promise.race([working, tunnel.broken]);
  } catch (error) {
    // The tunnel's failure is the cause; the connection's errors are only its symptoms.
    const broken = tunnel.failure();
    if (broken) {
      throw new SalesDbError(
        "kube_api",
        `${broken.message}; PostgreSQL rolls back an unfinished load, so the table keeps its old rows: ` +
          "run pulumi up again once the cluster answers",
        { cause: error },
      );
    }
    if (error instanceof SalesDbError && (error.code === "db_unreachable" || error.code === "db_error")) {
      const said = tunnel.lastError();
      if (said === undefined && error.code === "db_error") throw error;
      throw new SalesDbError(
        error.code,
        `${error.message} (PostgreSQL in ${tunnel.description}; the port-forward said: ${said ?? "nothing"})`,
        { cause: error },
      );
    }
    throw credentialsDrift(error, seed, pod, target);
  } finally {
    await tunnel.close();
  }
}

/**
 * A refused password on a running database is almost always a `dbPassword` (or `dbUser`/`dbName`) changed after
 * the volume was initialised: say so, and how to fix it, naming the pod (not the tunnel's throwaway port).
 */
function credentialsDrift(
  error: unknown,
  seed: Pick<SeedInputs, "database" | "user">,
  where: string,
  pod?: { readonly namespace: string; readonly pod: string },
): unknown {
  if (!(error instanceof SalesDbError) || error.code !== "db_auth") return error;
  const fix = pod
    ? `set it inside the database with \`kubectl -n ${pod.namespace} exec -it ${pod.pod} -- psql -U ${seed.user} ` +
      `-d ${seed.database} -c '\\password ${seed.user}'\`, or set the old dbPassword back`
    : `set it inside the database (ALTER ROLE ${seed.user} PASSWORD …), or set the old dbPassword back`;
  return new SalesDbError(
    "db_auth",
    `PostgreSQL in ${where} refused the password of user ${seed.user} for database ${seed.database}: ` +
      "the database keeps the credentials of its first start, so a dbPassword, dbUser or dbName changed since " +
      `is not applied to it (README, Known limitations); ${fix}`,
    { cause: error },
  );
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
