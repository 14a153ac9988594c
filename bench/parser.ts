import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { parse } from "csv-parse";
import { CsvReader } from "../loader/csv/read";
import { csvOptions } from "../loader/csv/dialect";
import { loadRules } from "../loader/rules/rules-file";
import { SalesEncoder } from "../loader/copy/sales-stream";
import { projectRoot } from "../loader/project";
import { generateSales } from "./generate";
import { median } from "./stats";

/**
 * `npm run bench:parser [-- --rows 1000000 --runs 5]`: CPU time to read the bench's CSV four ways, in this
 * process: plain csv-parse (stream, the loader's options), CsvReader (fast path + csv-parse, every record as
 * strings), and the whole encoder (CsvReader + validation + COPY text + sha256), with its byte path (as loads run
 * it) and without (every line as strings). CPU time (user + system) is less disturbed than wall time on a shared
 * machine. This is what the comments on CsvReader and SalesEncoder quote.
 */
const { values } = parseArgs({
  options: { rows: { type: "string", default: "1000000" }, runs: { type: "string", default: "5" } },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);

async function cpuSeconds(work: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

const discard = () => new Writable({ objectMode: true, write: (_chunk, _encoding, done) => done() });

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "sales-db-parser-"));
  try {
    const file = join(dir, "sales.csv");
    const mix = await generateSales(file, ROWS);
    const rules = await loadRules(join(projectRoot(), "data/config.yaml"));
    const ways: Record<string, () => Promise<void>> = {
      "csv-parse": () =>
        pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), parse(csvOptions()), discard()),
      CsvReader: async () => {
        const reader = new CsvReader(file, () => {});
        for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) reader.write(chunk);
        reader.end();
      },
      "encoder, byte path": () =>
        pipeline(
          createReadStream(file, { highWaterMark: 256 * 1024 }),
          new SalesEncoder({ file, rules }),
          discard(),
        ),
      "encoder, strings only": () =>
        pipeline(
          createReadStream(file, { highWaterMark: 256 * 1024 }),
          new SalesEncoder({ file, rules, bytePath: false }),
          discard(),
        ),
    };
    const seconds: Record<string, number[]> = {};
    for (let run = 0; run < RUNS; run++) {
      for (const [name, work] of Object.entries(ways)) (seconds[name] ??= []).push(await cpuSeconds(work));
    }
    const result = Object.fromEntries(
      Object.entries(seconds).map(([name, xs]) => [name, Math.round(median(xs) * 100) / 100]),
    );
    process.stdout.write(`${JSON.stringify({ ...mix, runs: RUNS, medianCpuSeconds: result }, null, 2)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
