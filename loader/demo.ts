import { join } from "node:path";
import { Client } from "pg";
import { startEmbeddedPostgres } from "./embedded";
import { oneLine } from "./errors";
import { loadSales } from "./load";
import { createLogger, rejectLogger, type Logger } from "./log";
import { formatPsqlTable } from "./psql-table";
import { describeReject, summarize } from "./report";
import { projectRoot } from "./project";
import { loadRules } from "./rules";

/**
 * The `npm start` demo: an embedded PostgreSQL, the sample validated and loaded, the report and the table
 * printed as psql would, and the server stopped again.
 */
export async function runDemo(options: { logger?: Logger; out?: NodeJS.WritableStream } = {}): Promise<void> {
  const logger = options.logger ?? createLogger("info");
  const out = options.out ?? process.stdout;
  const root = projectRoot();
  const file = join(root, "data", "sales.csv");
  const rules = await loadRules(join(root, "data", "config.yaml"));

  logger.info("Starting an embedded PostgreSQL");
  const server = await startEmbeddedPostgres({ logger });
  try {
    const report = await loadSales({
      connectionString: server.connectionString,
      file,
      rules,
      logger,
      onReject: rejectLogger(logger),
    });
    out.write(`\n${summarize(report)}\n`);
    for (const reject of report.rejects) out.write(`  rejected ${describeReject(reject)}\n`);

    const client = new Client({ connectionString: server.connectionString });
    await client.connect();
    try {
      const result = await client.query<{ product: string; price: number; quantity: number }>(
        "SELECT product, price, quantity FROM sales ORDER BY product",
      );
      out.write(`\npostgres=# SELECT product, price, quantity FROM sales ORDER BY product;\n`);
      out.write(
        `${formatPsqlTable(
          ["product", "price", "quantity"],
          result.rows.map((row) => [row.product, row.price, row.quantity]),
        )}\n\n`,
      );
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
    logger.info("Embedded PostgreSQL stopped");
  }
}

if (require.main === module) {
  runDemo().catch((error: unknown) => {
    process.stderr.write(
      `sales-db demo: ${oneLine(error instanceof Error ? error.message : String(error))}\n`,
    );
    process.exitCode = 1;
  });
}
