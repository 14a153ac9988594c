#!/usr/bin/env -S node --max-old-space-size=128
"use strict";
// The CLI is compiled by `npm ci` (the `prepare` script) into dist/.
// The heap cap makes V8 collect garbage before it piles up: a load's live heap is ~30 MB whatever the file's
// size, and without the cap V8 lets peak RSS creep up with the number of rows (see README, Performance).
require("../dist/loader/cli")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
