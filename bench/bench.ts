import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { startEmbeddedPostgres } from "../loader/embedded/server";
import { dropSales } from "../loader/db/load";
import { projectRoot } from "../loader/project";
import { generateSales } from "./generate";
import { median } from "./stats";

/**
 * `npm run bench [-- --rows 5000000 --runs 5 --clean]`: on one embedded server, in alternating runs, a raw
 * `psql \copy` of the file into an unvalidated text table (the baseline), `sales-db load` as users run it (default
 * logging: one WARNING line per invalid row, stderr to /dev/null), the same with `-q`, both again with
 * `--copy-format text` (the rows as COPY text instead of binary), and a reload of the unchanged file. The file is
 * realistic by default (about 5% invalid rows of five kinds, 1% quoted fields); `--clean` makes every row valid
 * and unquoted. Prints medians, ratios to the baseline and each variant's peak RSS, and the
 * CPU seconds each variant used: the client's (not psql's) and the server backends' (read from /proc when the server
 * runs on this machine). On a shared machine wall times swing with other work, and a load, which keeps two
 * processes busy (Node and the server backend), suffers more than psql's one; CPU seconds do not swing as much.
 */
const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    runs: { type: "string", default: "5" },
    clean: { type: "boolean", default: false },
    "database-url": { type: "string" },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);

interface Timed {
  seconds: number;
  peakRssMb?: number;
  clientCpu?: number;
  serverCpu?: number;
}

/**
 * CPU seconds of the server's exited backends so far (the postmaster's reaped children: cutime + cstime in
 * /proc/PID/stat), or null when the server is not a local process we can see.
 */
async function serverCpuReader(client: Client): Promise<(() => Promise<number>) | null> {
  try {
    const { rows } = await client.query<{ pid: string }>(
      "SELECT split_part(pg_read_file('postmaster.pid'), E'\\n', 1) AS pid",
    );
    const stat = `/proc/${rows[0]?.pid}/stat`;
    const ticks = 100; // USER_HZ on Linux
    const read = async () => {
      const fields = (await readFile(stat, "utf8")).split(") ")[1]!.split(" ");
      return (Number(fields[13]) + Number(fields[14])) / ticks; // cutime, cstime (fields 16 and 17)
    };
    await read();
    return read;
  } catch {
    return null;
  }
}

/** Runs a command to completion; `stderr: "ignore"` sends it to /dev/null, as a user's redirect would. */
function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; quietStderr?: boolean } = {},
) {
  return new Promise<number>((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "ignore", options.quietStderr ? "ignore" : "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} ${args[0]} exited ${code}: ${stderr.trim()}`));
      else resolve(seconds);
    });
  });
}

async function main(): Promise<void> {
  const root = projectRoot();
  const dir = await mkdtemp(join(tmpdir(), "sales-db-bench-"));
  const server = values["database-url"] ? null : await startEmbeddedPostgres();
  const url = values["database-url"] ?? server!.connectionString;
  try {
    const csv = join(dir, "sales.csv");
    process.stderr.write(
      `generating ${ROWS.toLocaleString("en")} ${values.clean ? "clean" : "realistic"} rows...\n`,
    );
    const mix = await generateSales(csv, ROWS, values.clean);
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(
      "DROP TABLE IF EXISTS raw_sales; CREATE TABLE raw_sales (product text, price text, quantity text)",
    );

    const serverCpu = await serverCpuReader(client);
    /** Runs `work`, adding the CPU seconds of the server backends that ran meanwhile (they have exited when it ends). */
    const measured = async (work: () => Promise<Timed>): Promise<Timed> => {
      const before = await serverCpu?.();
      const timed = await work();
      if (!serverCpu || before === undefined) return timed;
      await new Promise((resolve) => setTimeout(resolve, 200)); // the postmaster reaps the backend
      return { ...timed, serverCpu: (await serverCpu()) - before };
    };

    const probeFile = join(dir, "probe.json");
    /** `sales-db load` through the launcher (its shebang and heap cap), as users run it; the probe records RSS and CPU. */
    const load = (extra: string[], logging: boolean) =>
      measured(async () => {
        const args = ["load", "--csv", csv, "--rules", join(root, "data/config.yaml"), "--database-url", url];
        const seconds = await run(join(root, "bin/sales-db.js"), [...args, ...extra], {
          env: {
            NODE_OPTIONS: `--require ${join(root, "dist/bench/rss-probe.js")}`,
            SALES_DB_BENCH_PROBE_FILE: probeFile,
          },
          quietStderr: logging,
        });
        const probe = JSON.parse(await readFile(probeFile, "utf8")) as {
          maxRssKb: number;
          cpuSeconds: number;
        };
        return { seconds, peakRssMb: probe.maxRssKb / 1024, clientCpu: probe.cpuSeconds };
      });

    /** Each run: the raw copy, then each load in both COPY formats, then the reload of the unchanged file. */
    const loads = {
      load: { args: [], logging: true },
      loadQuiet: { args: ["-q"], logging: false },
      loadText: { args: ["--copy-format", "text"], logging: true },
      loadQuietText: { args: ["-q", "--copy-format", "text"], logging: false },
    } as const;
    type Variant = "rawCopy" | keyof typeof loads | "reloadUnchanged";
    const variants: Variant[] = [
      "rawCopy",
      ...(Object.keys(loads) as (keyof typeof loads)[]),
      "reloadUnchanged",
    ];
    const times = Object.fromEntries(variants.map((name) => [name, [] as Timed[]])) as Record<
      Variant,
      Timed[]
    >;
    for (let i = 0; i < RUNS; i++) {
      await client.query("TRUNCATE raw_sales; CHECKPOINT");
      times.rawCopy.push(
        await measured(async () => ({
          seconds: await run("psql", [
            url,
            "-q",
            "-c",
            `\\copy raw_sales FROM '${csv}' WITH (FORMAT csv, HEADER true)`,
          ]),
        })),
      );
      for (const [name, { args, logging }] of Object.entries(loads)) {
        await dropSales({ connectionString: url }); // a fresh load each time, not a reload of the same rows
        await client.query("CHECKPOINT");
        times[name as keyof typeof loads].push(await load([...args], logging));
      }
      times.reloadUnchanged.push(await load([], true)); // the same file again: the table already holds these rows
      const last = (name: Variant) => `${name} ${times[name][i]!.seconds.toFixed(2)}s`;
      process.stderr.write(`run ${i + 1}/${RUNS}: ${variants.map(last).join(", ")}\n`);
    }
    const [count] = (await client.query<{ n: string }>("SELECT count(*) AS n FROM sales")).rows;
    await client.end();

    const medianOf = (name: Variant) => median(times[name].map((t) => t.seconds));
    const peakOf = (name: Variant) => round(Math.max(...times[name].map((t) => t.peakRssMb ?? 0)));
    const cpuOf = (name: Variant, part: "clientCpu" | "serverCpu") => {
      const xs = times[name].map((t) => t[part]).filter((x): x is number => x !== undefined);
      return xs.length > 0 ? round(median(xs)) : null;
    };
    const perVariant = <T>(of: (name: Variant) => T, names: readonly Variant[] = variants) =>
      Object.fromEntries(names.map((name) => [name, of(name)]));
    const measuredLoads = variants.filter((name) => name !== "rawCopy");
    const raw = medianOf("rawCopy");
    const result = {
      rows: ROWS,
      invalidRows: mix.invalid,
      quotedRows: mix.quoted,
      runs: RUNS,
      loadedRows: Number(count?.n),
      medianSeconds: perVariant((name) => round(medianOf(name))),
      ratioToRawCopy: perVariant((name) => round(medianOf(name) / raw), measuredLoads),
      reloadShareOfLoad: round(medianOf("reloadUnchanged") / medianOf("load")),
      rowsPerSecond: { rawCopy: Math.round(ROWS / raw), load: Math.round(ROWS / medianOf("load")) },
      peakRssMb: perVariant(peakOf, measuredLoads),
      medianCpuSeconds: {
        rawCopy: { psql: "not measured", server: cpuOf("rawCopy", "serverCpu") },
        ...perVariant(
          (name) => ({ node: cpuOf(name, "clientCpu"), server: cpuOf(name, "serverCpu") }),
          measuredLoads,
        ),
      },
      loadAverageAtEnd: loadavg().map(round),
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
