import { join } from "node:path";
import { connectWithRetry } from "../db/connection/connect";
import { startEmbeddedPostgres } from "../embedded/server";
import { SalesDbError } from "../errors";
import { loadSales } from "../db/load";
import type { Logger } from "../log";
import { formatPsqlTable } from "./psql-table";
import { describeReject, rejectLogger, summarize } from "../rules/report";
import { projectRoot } from "../project";
import { loadRules } from "../rules/rules-file";

/**
 * The `npm start` demo: an embedded PostgreSQL, the sample validated and loaded, the report and the table
 * printed as psql would, and the server stopped again.
 */
export async function runDemo(options: { logger: Logger; out: NodeJS.WritableStream }): Promise<void> {
  const { logger, out } = options;
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

    const client = await connectWithRetry({ connectionString: server.connectionString, logger });
    try {
      const result = await client
        .query<{ product: string; price: number; quantity: number }>(
          "SELECT product, price, quantity FROM sales ORDER BY product",
        )
        .catch((error: Error) => {
          throw new SalesDbError("db_error", `reading the sales table back failed: ${error.message}`, {
            cause: error,
          });
        });
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
