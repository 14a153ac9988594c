import { writeFileSync } from "node:fs";

// Preloaded into the CLI by the benchmark (`node --require`): records the process's peak RSS (KiB) when it exits,
// in the file the benchmark names, so that stderr can go to /dev/null as a user's would.
process.on("exit", () => {
  const file = process.env.SALES_DB_BENCH_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
