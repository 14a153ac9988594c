// Mutation testing of the modules where a defect costs most (issue 17). `npm run test:mutation [-- module...]` runs
// scripts/mutation.mjs: per module, this config twice (see STRYKER_PASS below), then one table of scores.
// By hand, one module, in-process pass only: `STRYKER_MODULE=locks npx stryker run`.
import { createRequire } from "node:module";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

/**
 * What to mutate, and which tests can kill its mutants. After a folder move, edit the paths here and nothing else.
 * - `mutate`: files, or `file:from-to` for only those lines.
 * - `tests`: tests that call the module in-process. The mocha runner runs, per mutant, those of them that reached
 *   it ("perTest" coverage).
 * - `cliTests`: tests that reach the module only through a child process (the built CLI, a serialized provider).
 *   They cannot see a mutant under the mocha runner, so a second pass runs them, with the command runner against a
 *   dist/ built from the mutated sources, on the mutants the first pass left alive.
 * - `skip`: titles of tests left out of both passes. A test that fails without any mutant stops Stryker.
 */
/** The in-process tests of what is never printed: the password's sources, redaction and the output guard. */
const REDACTION_TESTS = [
  "test/loader/db/connection/connection-string.test.ts",
  "test/loader/cli/main.test.ts",
  "test/loader/cli/secrets.test.ts",
  "test/loader/cli/one-line.test.ts",
  "test/loader/cli/output.test.ts",
];

export const MODULES = {
  "connection-strings": {
    // connection-string.ts whole; of cli/output.ts the output guard: secretsFromArgs, guard, readerGone, oneLineWarnings.
    mutate: ["loader/db/connection/connection-string.ts", "loader/cli/output.ts:30-123"],
    tests: [
      ...REDACTION_TESTS,
      "test/loader/db/connection/connect.test.ts",
      "test/loader/db/connection/connect.pg.test.ts",
    ],
    cliTests: [
      "test/cli/connection-strings.test.ts",
      "test/cli/output-failures.test.ts",
      "test/cli/hostile-input.test.ts",
      "test/cli/validate.test.ts",
      "test/cli/exit-status.test.ts",
    ],
  },
  // The part of connection-strings that decides what is never printed, with the tests that need no server: quick
  // enough to run on every change to redaction (`npm run test:mutation -- redaction`).
  redaction: {
    // secretsOf and redact; of cli/output.ts the output guard.
    mutate: ["loader/db/connection/connection-string.ts:143-181", "loader/cli/output.ts:30-123"],
    tests: REDACTION_TESTS,
    cliTests: [],
  },
  validation: {
    mutate: ["loader/rules/validate.ts", "loader/rules/rules-file.ts"],
    tests: [
      "test/loader/rules/validate.test.ts",
      "test/loader/rules/rules-file.test.ts",
      "test/loader/copy/encoder-differential.test.ts",
      "test/loader/copy/sales-stream.test.ts",
      "test/loader/csv/read.test.ts",
      "test/loader/cli/main.test.ts",
    ],
    cliTests: [],
  },
  "seed-diff": {
    // checkSeed, knownValidation, validate, loadReasons, whereTo, settingChanges, diffSeed.
    mutate: ["infra/seed/provider.ts:24-128"],
    tests: ["test/infra/seed/diff.test.ts", "test/infra/seed/provider.pg.test.ts"],
    cliTests: ["test/infra/seed/serialized-provider.pg.test.ts"],
  },
  locks: {
    mutate: ["loader/db/locks.ts"],
    tests: [
      "test/loader/db/load.pg.test.ts",
      "test/loader/db/load-reload.pg.test.ts",
      "test/loader/db/load-refusals.pg.test.ts",
      "test/loader/db/load-concurrency.pg.test.ts",
    ],
    cliTests: ["test/cli/load.pg.test.ts"],
  },
};

const names = (process.env.STRYKER_MODULE || Object.keys(MODULES).join(",")).split(",");
const modules = names.map((name) => {
  const module = MODULES[name];
  if (!module)
    throw new Error(`STRYKER_MODULE: no module "${name}" (known: ${Object.keys(MODULES).join(", ")})`);
  return module;
});
const label = names.length === Object.keys(MODULES).length ? "all" : names.join("+");
/** "in-process" (the mocha runner), or "cli" (the command runner over `cliTests`). */
const pass = process.env.STRYKER_PASS === "cli" ? "cli" : "in-process";
/** The cli pass mutates only what the driver lists here (the survivors' exact ranges), as a JSON array. */
const mutate = process.env.STRYKER_MUTATE
  ? JSON.parse(process.env.STRYKER_MUTATE)
  : modules.flatMap((module) => module.mutate);

const testsOf = (key) => [...new Set(modules.flatMap((module) => module[key]))];
const skip = modules
  .flatMap((module) => module.skip ?? [])
  .map((title) => title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
// test/setup.ts starts an embedded PostgreSQL per test process, for the *.pg.test.ts files only.
const requires = (tests) => [
  "ts-node/register/transpile-only",
  ...(tests.some((test) => test.includes(".pg.")) ? ["test/setup.ts"] : []),
];

// Mocha 12 and the released mocha runner do not fit without this; see the file.
const mocha12 = fileURLToPath(new URL("./scripts/stryker-mocha12.cjs", import.meta.url));
createRequire(import.meta.url)(mocha12);

const inProcess = {
  testRunner: "mocha",
  testRunnerNodeArgs: ["--require", mocha12],
  coverageAnalysis: "perTest",
  mochaOptions: {
    "no-config": true,
    spec: testsOf("tests"),
    extension: ["ts"],
    require: requires(testsOf("tests")),
    ...(skip.length > 0 ? { grep: `^(?!.*(?:${skip.join("|")}))` } : {}),
  },
};

const cli = {
  testRunner: "command",
  testRunnerNodeArgs: ["--require", mocha12],
  coverageAnalysis: "off",
  // The sandbox's dist/ from the instrumented sources; the command runner passes the active mutant to the tests in
  // __STRYKER_ACTIVE_MUTANT__, and the children they spawn inherit it.
  buildCommand: "npx tsc -p tsconfig.build.json --noCheck",
  commandRunner: {
    command: [
      "npx mocha --no-config --extension ts --timeout 60000 --bail",
      ...requires(testsOf("cliTests")).map((module) => `--require ${module}`),
      ...(skip.length > 0 ? [`--invert --grep '${skip.join("|")}'`] : []),
      ...testsOf("cliTests"),
    ].join(" "),
  },
};

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  mutate,
  ...(pass === "cli" ? cli : inProcess),
  // No TypeScript checker (@stryker-mutator/typescript-checker 9.6.1): on connection-strings it got through 93
  // mutants in 11.5 minutes (one process at 100% CPU, 1.1 GB, and one of the two slots), while the module's 363
  // mutants all ran in 7.7 minutes without it. Mutants that would not compile run anyway (ts-node transpile-only);
  // the report of survivors says which of them a type error would have caught.
  // Two cores, shared with other work: at most two test processes.
  concurrency: 2,
  reporters:
    pass === "cli"
      ? ["json", "progress-append-only"]
      : ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: `reports/mutation/${label}.html` },
  jsonReporter: { fileName: `reports/mutation/${label}${pass === "cli" ? ".cli" : ""}.json` },
  tempDirName: ".stryker-tmp",
};
