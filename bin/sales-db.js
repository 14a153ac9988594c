#!/usr/bin/env node
"use strict";
// The CLI is compiled by `npm ci` (the `prepare` script) into dist/.
require("../dist/loader/cli")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
