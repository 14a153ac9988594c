import { createHash } from "node:crypto";
import { untouched, type RecordedSummary, type Target, type TableState } from "./bookkeeping";
import type { Input } from "../input/input";
import type { LoadReport } from "../rules/report";
import type { RuleSet } from "../rules/rules-file";

/** Bumped when validation or encoding changes, so that a reload of an unchanged file validates it again. */
const VALIDATION_VERSION = "2";

/** Identifies the rules as validation sees them (not the YAML's spelling), and the validator's version. */
export function rulesFingerprint(rules: RuleSet): string {
  return createHash("sha256")
    .update(JSON.stringify([VALIDATION_VERSION, rules]))
    .digest("hex");
}

/**
 * The recorded summary, when the input is the very file (bytes, rules, column types) of the last load into the
 * untouched table: then the load needs neither validation nor COPY.
 */
export async function sameInput(
  state: TableState,
  input: Input,
  columns: string,
  rulesSha256: string,
): Promise<RecordedSummary | null> {
  const recorded = state.recorded;
  if (!input.regular || !recorded?.summary || !untouched(state, columns)) return null;
  if (recorded.fileSize !== input.size || recorded.rulesSha256 !== rulesSha256) return null;
  return recorded.fileSha256 === (await input.sha256()) ? recorded.summary : null;
}

/** The report of a reload that read nothing past the file's hash: the recorded counts, no rejects listed. */
export function recordedReport(
  summary: RecordedSummary,
  state: TableState,
  table: Target,
  file: string,
): LoadReport {
  return {
    file,
    ...summary,
    rejects: [],
    rejectsOmitted: summary.rejected,
    sha256: state.recorded?.sha256 ?? "",
    table: table.display,
    copyFormat: null,
    loaded: 0,
    changed: false,
    validated: false,
  };
}
