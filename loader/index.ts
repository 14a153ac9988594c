// The loader's public API, used by the CLI and by the Pulumi dynamic provider.
export { SalesDbError, type ErrorCode } from "./errors";
export { loadRules, parseRules, COLUMNS, type RuleSet, type Column } from "./rules";
export {
  createValidator,
  validateSale,
  RULE_IDS,
  type RuleId,
  type RawSale,
  type ValidSale,
} from "./validate";
export { validateFile, SalesEncoder } from "./sales-stream";
export { loadSales, inspectSales, dropSales, type LoadOptions, type SeedState } from "./load";
export { connectWithRetry, describeTarget } from "./connect";
export { createLogger, silentLogger, type Logger } from "./log";
export { summarize, describeReject, type ValidationReport, type LoadReport, type Reject } from "./report";
