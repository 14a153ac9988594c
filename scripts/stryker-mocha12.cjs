"use strict";
// Mocha 12 ships its CLI helpers as .cjs files, and @stryker-mutator/mocha-runner (9.6.1, and 10.1.1 too) requires
// them without an extension, so the runner fails to load ("Cannot find module .../mocha/lib/cli/run-helpers";
// stryker-js pull request 6205). Until a fixed runner is released, this resolves exactly those three paths to
// their .cjs files; every other require is untouched. Loaded by stryker.config.mjs and, through
// testRunnerNodeArgs/checkerNodeArgs, by Stryker's worker processes. Delete it with the first runner that has the fix.
const Module = require("node:module");

const MOCHA_CLI = /[\\/]mocha[\\/]lib[\\/]cli[\\/](?:run-helpers|options|collect-files)$/;
const resolve = Module._resolveFilename;

Module._resolveFilename = function (request, ...rest) {
  if (MOCHA_CLI.test(request)) {
    try {
      return resolve.call(this, request, ...rest);
    } catch {
      return resolve.call(this, `${request}.cjs`, ...rest);
    }
  }
  return resolve.call(this, request, ...rest);
};
