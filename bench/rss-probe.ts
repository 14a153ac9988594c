import { writeFileSync } from "node:fs";

// Preloaded into the CLI by the benchmark (`node --require`): records the process's peak RSS (KiB) and CPU time
// (user + system, seconds) when it exits, as JSON in the file the benchmark names, so that stderr can go to
// /dev/null as a user's would.
process.on("exit", () => {
  const file = process.env.SALES_DB_BENCH_PROBE_FILE;
  if (!file) return;
  const usage = process.resourceUsage();
  writeFileSync(
    file,
    JSON.stringify({ maxRssKb: usage.maxRSS, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 }),
  );
});
