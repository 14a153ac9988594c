#!/usr/bin/env -S node --max-old-space-size=128
"use strict";
// The CLI is compiled by `npm ci` (the `prepare` script) into dist/.
// The heap cap makes V8 collect garbage before it piles up: a load's live heap is ~30 MB whatever the file's
// size, and without the cap V8 lets peak RSS creep up with the number of rows (docs/performance.md, "Memory").
const argv = process.argv.slice(2);
// First of all, a load's CSV starts being hashed in a child process: an unchanged reload needs only that hash,
// and the command's modules load and it connects meanwhile (docs/decisions.md).
const ahead = require("../dist/loader/cli/launch").hashAheadForCommand(argv, process.env);
require("../dist/loader/cli/main")
  .main(argv, process, ahead)
  .then((code) => {
    process.exitCode = code;
  });
