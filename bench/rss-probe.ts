// Preloaded into the CLI by the benchmark (`node --require`): reports the process's peak RSS when it exits.
process.on("exit", () => {
  process.stderr.write(`\nRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
