import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { startEmbeddedPostgres } from "../loader/embedded";
import { dropSales } from "../loader/load";
import { projectRoot } from "../loader/project";

/**
 * `npm run bench [-- --rows 5000000 --runs 5]`: the validated load (`sales-db load`) against a raw
 * `psql \copy` of the same file into an unvalidated text table, alternating runs on one server.
 */
const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    "database-url": { type: "string" },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);

/** Synthetic sales: ~2% invalid rows of several kinds, ~1% quoted names with commas. */
async function generate(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  let buffer = "product,price,quantity\n";
  for (let i = 0; i < rows; i++) {
    const kind = i % 100;
    if (kind === 7) buffer += `Monitor ${i},${(i % 900) + 10}.99,${(i % 90) + 1}\n`;
    else if (kind === 42) buffer += `Halal Item ${i},invalid,3\n`;
    else if (kind === 99) buffer += `"Halal Box, large ${i}",${(i % 900) + 10}.5,${(i % 90) + 1}\n`;
    else buffer += `Halal Item ${i},${(i % 900) + 10}.${i % 100},${(i % 90) + 1}\n`;
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "finish");
}

interface Timed {
  seconds: number;
  maxRssMb?: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${command} exited ${code}: ${stderr.trim()}`));
      const rss = /RSS_KB=(\d+)/.exec(stderr);
      resolve({ seconds, maxRssMb: rss ? Number(rss[1]) / 1024 : undefined });
    });
  });
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const root = projectRoot();
  const dir = await mkdtemp(join(tmpdir(), "sales-db-bench-"));
  const server = values["database-url"] ? null : await startEmbeddedPostgres();
  const url = values["database-url"] ?? server!.connectionString;
  try {
    const csv = join(dir, "sales.csv");
    process.stderr.write(`generating ${ROWS.toLocaleString("en")} rows...\n`);
    await generate(csv, ROWS);
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(
      "DROP TABLE IF EXISTS raw_sales; CREATE TABLE raw_sales (product text, price text, quantity text)",
    );

    const raw: Timed[] = [];
    const validated: Timed[] = [];
    for (let i = 0; i < RUNS; i++) {
      await client.query("TRUNCATE raw_sales; CHECKPOINT");
      raw.push(
        await run("psql", [url, "-q", "-c", `\\copy raw_sales FROM '${csv}' WITH (FORMAT csv, HEADER true)`]),
      );
      await dropSales({ connectionString: url }); // otherwise the reload would be skipped as unchanged
      await client.query("CHECKPOINT");
      validated.push(
        // Run as users do (through the launcher's shebang and its heap cap); the probe rides on NODE_OPTIONS.
        await run(
          join(root, "bin/sales-db.js"),
          ["load", "--csv", csv, "--rules", join(root, "data/config.yaml"), "--quiet", "--database-url", url],
          { NODE_OPTIONS: `--require ${join(root, "dist/bench/rss-probe.js")}` },
        ),
      );
      process.stderr.write(
        `run ${i + 1}/${RUNS}: psql \\copy ${raw[i]!.seconds.toFixed(2)}s, sales-db load ${validated[i]!.seconds.toFixed(2)}s\n`,
      );
    }
    const [count] = (await client.query<{ n: string }>("SELECT count(*) AS n FROM sales")).rows;
    await client.end();

    const rawMedian = median(raw.map((t) => t.seconds));
    const ourMedian = median(validated.map((t) => t.seconds));
    const peakRss = Math.max(...validated.map((t) => t.maxRssMb ?? 0));
    const result = {
      rows: ROWS,
      runs: RUNS,
      loadedRows: Number(count?.n),
      rawCopyMedianSeconds: round(rawMedian),
      validatedLoadMedianSeconds: round(ourMedian),
      ratio: round(ourMedian / rawMedian),
      rawCopyRowsPerSecond: Math.round(ROWS / rawMedian),
      validatedRowsPerSecond: Math.round(ROWS / ourMedian),
      peakRssMb: round(peakRss),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
