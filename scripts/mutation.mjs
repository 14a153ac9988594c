// `npm run test:mutation [-- module...]`: mutation testing of the modules listed in stryker.config.mjs (all by default).
// Per module: Stryker with the mocha runner over the in-process tests; then, when the module has `cliTests`, Stryker
// with the command runner over those tests, on exactly the mutants the first pass left alive; then the scores.
// Writes reports/mutation/<module>.html and .json (first pass), <module>.cli.json (second pass), <module>.merged.json
// (the first pass with the second's verdicts), and summary.md, which it also prints.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { MODULES } from "../stryker.config.mjs";

const REPORTS = "reports/mutation";
const ALIVE = new Set(["Survived", "NoCoverage"]);
const DETECTED = new Set(["Killed", "Timeout"]);

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(MODULES);
for (const name of names) if (!MODULES[name]) throw new Error(`no module "${name}" in stryker.config.mjs`);

/** Runs Stryker once; a killed test process leaves its PostgreSQL folder in TMPDIR, which goes with it. */
function stryker(env) {
  // The embedded server runs as the postgres user when we are root: the folder must be reachable by others.
  const tmp = mkdtempSync(join(tmpdir(), "sales-db-stryker-"));
  chmodSync(tmp, 0o755);
  try {
    const run = spawnSync("npx", ["stryker", "run", "stryker.config.mjs"], {
      stdio: "inherit",
      env: { ...process.env, ...env, TMPDIR: tmp },
    });
    if (run.status !== 0)
      throw new Error(`stryker ${JSON.stringify(env)} ended with ${run.status ?? run.signal}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const readReport = (file) => JSON.parse(readFileSync(join(REPORTS, file), "utf8"));
const key = (file, m) =>
  [
    file,
    m.mutatorName,
    m.replacement,
    m.location.start.line,
    m.location.start.column,
    m.location.end.line,
    m.location.end.column,
  ].join("|");
/** Stryker's `mutate` range for exactly one mutant's node: 1-based lines, 0-based columns, end exclusive. */
const range = (file, { start, end }) =>
  `${file}:${start.line}:${start.column - 1}-${end.line}:${end.column - 1}`;

function count(mutants) {
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  for (const m of mutants) c[m.status in c ? m.status : "other"] += 1;
  const valid = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  return { ...c, score: valid === 0 ? "n/a" : ((100 * (c.Killed + c.Timeout)) / valid).toFixed(1) };
}

const rows = [];
const started = Date.now();
mkdirSync(REPORTS, { recursive: true });
for (const name of names) {
  const moduleStarted = Date.now();
  stryker({ STRYKER_MODULE: name, STRYKER_PASS: "in-process" });
  const report = readReport(`${name}.json`);
  const firstPass = Object.values(report.files).flatMap((file) => file.mutants);
  const alive = Object.entries(report.files).flatMap(([file, { mutants }]) =>
    mutants.filter((m) => ALIVE.has(m.status)).map((m) => ({ file, m })),
  );
  const scoreBefore = count(firstPass).score;
  const fileScoreBefore = new Map(
    Object.entries(report.files).map(([file, f]) => [file, count(f.mutants).score]),
  );
  if (MODULES[name].cliTests.length > 0 && alive.length > 0) {
    stryker({
      STRYKER_MODULE: name,
      STRYKER_PASS: "cli",
      STRYKER_MUTATE: JSON.stringify([...new Set(alive.map(({ file, m }) => range(file, m.location)))]),
    });
    const verdicts = new Map();
    for (const [file, { mutants }] of Object.entries(readReport(`${name}.cli.json`).files)) {
      for (const m of mutants) verdicts.set(key(file, m), m);
    }
    for (const { file, m } of alive) {
      const verdict = verdicts.get(key(file, m));
      if (verdict && DETECTED.has(verdict.status)) {
        m.status = verdict.status;
        m.killedBy = verdict.killedBy;
        m.statusReason = `second pass (${MODULES[name].cliTests.join(", ")}): ${verdict.statusReason ?? ""}`;
      }
    }
    writeFileSync(join(REPORTS, `${name}.merged.json`), JSON.stringify(report));
  }
  const minutes = ((Date.now() - moduleStarted) / 60_000).toFixed(1);
  for (const [file, { mutants }] of Object.entries(report.files)) {
    rows.push({ name, file, ...count(mutants), inProcess: fileScoreBefore.get(file), minutes: "" });
  }
  rows.push({ name, file: "(module)", ...count(firstPass), inProcess: scoreBefore, minutes });
}

const table = [
  "| module | file | killed | timeout | survived | no coverage | other | score % | in-process only % | minutes |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...rows
    .map((r) =>
      [
        r.name,
        r.file,
        r.Killed,
        r.Timeout,
        r.Survived,
        r.NoCoverage,
        r.other,
        r.score,
        r.inProcess,
        r.minutes,
      ].join(" | "),
    )
    .map((line) => `| ${line} |`),
  "",
  `Total wall time: ${((Date.now() - started) / 60_000).toFixed(1)} minutes.`,
  "",
].join("\n");
writeFileSync(join(REPORTS, "summary.md"), table);
process.stdout.write(`\n${table}`);
