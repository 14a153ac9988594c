import { isUtf8 } from "node:buffer";
import { parseDocument } from "yaml";
import { firstLine, printable, SalesDbError } from "../errors";
import { readBounded } from "../input/input";

/** The columns of the sales table, in table order. */
export const COLUMNS = ["product", "price", "quantity"] as const;
export type Column = (typeof COLUMNS)[number];

/** The validation rules of `config.yaml`, typed and checked. */
export interface RuleSet {
  readonly minPrice: number;
  readonly maxQuantity: number;
  readonly requiredFields: readonly Column[];
  readonly productPrefix: string;
  readonly maxDecimals: number;
  /** SQL type per column; the spec's `TEXT, REAL, INTEGER` unless `column_types` says otherwise (dbt-seed style). */
  readonly columnTypes: Readonly<Record<Column, string>>;
}

const DEFAULT_COLUMN_TYPES: Readonly<Record<Column, string>> = {
  product: "TEXT",
  price: "REAL",
  quantity: "INTEGER",
};

// Each column accepts only types that every validated value fits into, so that no row can abort the COPY
// (a NUMERIC(6,2) or VARCHAR(8) could overflow); the list doubles as an SQL-injection guard.
const ALLOWED_COLUMN_TYPES: Readonly<Record<Column, RegExp>> = {
  product: /^text$/i,
  price: /^(real|double precision|numeric)$/i,
  quantity: /^(integer|bigint)$/i,
};

const INT32_MAX = 2_147_483_647;
const KEYS = [
  "min_price",
  "max_quantity",
  "required_fields",
  "product_prefix",
  "max_decimals",
  "column_types",
];
const OPTIONAL_KEYS = new Set(["column_types"]);

/** A rules file is a handful of keys; anything larger is the wrong file, or an attack on the parser. */
const MAX_RULES_BYTES = 64 * 1024;
/** YAML aliases the rules may use: enough for sharing a value, far too few for a "billion laughs" bomb. */
const MAX_ALIASES = 20;

/** Reads and checks a rules file. Every problem names the file and the key. */
export async function loadRules(file: string): Promise<RuleSet> {
  const bytes = await readBounded(file, MAX_RULES_BYTES, "rules file");
  const label = printable(file); // one line, whatever the file's name holds
  if (!isUtf8(bytes)) {
    throw new SalesDbError("rules_invalid", `${label}: the rules file is not UTF-8 text`, { file });
  }
  return parseRules(bytes.toString("utf8"), label);
}

/** Parses rules from YAML text; `file` only labels the errors. */
export function parseRules(text: string, file = "config.yaml"): RuleSet {
  try {
    return checkRules(parseYaml(text, file), file);
  } catch (error) {
    if (error instanceof SalesDbError) throw error;
    // The parser's own limits (aliases, nesting depth) and anything else it throws: still one line, naming the file.
    throw new SalesDbError("rules_invalid", `${file}: invalid YAML: ${firstLine(describeYamlError(error))}`, {
      file,
      cause: error,
    });
  }
}

function describeYamlError(error: unknown): string {
  if (error instanceof RangeError) return "nested too deeply";
  const message = error instanceof Error ? error.message : String(error);
  return /alias/i.test(message)
    ? `more than ${MAX_ALIASES} aliases, or an alias that expands too far`
    : message;
}

function parseYaml(text: string, file: string): unknown {
  const document = parseDocument(text, { uniqueKeys: true });
  const yamlError = document.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0].line;
    const at = line === undefined ? file : `${file}:${line}`;
    throw new SalesDbError("rules_invalid", `${at}: invalid YAML: ${firstLine(yamlError.message)}`, {
      file,
      line,
    });
  }
  return document.toJS({ maxAliasCount: MAX_ALIASES });
}

function checkRules(raw: unknown, file: string): RuleSet {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new SalesDbError("rules_invalid", `${file}: expected a mapping of rule names to values`, { file });
  }
  const record = raw as Record<string, unknown>;
  const fail = (key: string, expected: string): never => {
    throw new SalesDbError(
      "rules_invalid",
      `${file}: key "${key}" must be ${expected}, got ${JSON.stringify(record[key]) ?? "nothing"}`,
      { file, rule: key },
    );
  };

  for (const key of Object.keys(record)) {
    if (!KEYS.includes(key)) {
      throw new SalesDbError(
        "rules_invalid",
        `${file}: unknown key "${key}" (known keys: ${KEYS.join(", ")})`,
        {
          file,
          rule: key,
        },
      );
    }
  }
  for (const key of KEYS) {
    if (!OPTIONAL_KEYS.has(key) && !(key in record)) {
      throw new SalesDbError("rules_invalid", `${file}: missing key "${key}"`, { file, rule: key });
    }
  }

  const minPrice = record.min_price;
  if (typeof minPrice !== "number" || !Number.isFinite(minPrice)) fail("min_price", "a finite number");

  const maxQuantity = record.max_quantity;
  if (!Number.isInteger(maxQuantity) || (maxQuantity as number) < 1 || (maxQuantity as number) > INT32_MAX) {
    fail("max_quantity", `an integer from 1 to ${INT32_MAX}`);
  }

  const required = record.required_fields;
  if (!Array.isArray(required) || !required.every((f) => (COLUMNS as readonly unknown[]).includes(f))) {
    fail("required_fields", `a list of columns out of ${COLUMNS.join(", ")}`);
  }
  const requiredFields = required as Column[];
  if (new Set(requiredFields).size !== requiredFields.length)
    fail("required_fields", "a list without repeats");

  const prefix = record.product_prefix;
  if (typeof prefix !== "string") fail("product_prefix", "a string");

  const maxDecimals = record.max_decimals;
  if (!Number.isInteger(maxDecimals) || (maxDecimals as number) < 0 || (maxDecimals as number) > 15) {
    fail("max_decimals", "an integer from 0 to 15");
  }

  return {
    minPrice: minPrice as number,
    maxQuantity: maxQuantity as number,
    requiredFields,
    productPrefix: prefix as string,
    maxDecimals: maxDecimals as number,
    columnTypes: parseColumnTypes(record.column_types, file),
  };
}

function parseColumnTypes(value: unknown, file: string): Record<Column, string> {
  if (value === undefined) return { ...DEFAULT_COLUMN_TYPES };
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SalesDbError(
      "rules_invalid",
      `${file}: key "column_types" must be a mapping of column to SQL type`,
      {
        file,
        rule: "column_types",
      },
    );
  }
  const types: Record<Column, string> = { ...DEFAULT_COLUMN_TYPES };
  for (const [column, type] of Object.entries(value)) {
    const allowed = ALLOWED_COLUMN_TYPES[column as Column];
    if (!allowed) {
      throw new SalesDbError(
        "rules_invalid",
        `${file}: key "column_types" names unknown column "${column}"`,
        {
          file,
          rule: "column_types",
        },
      );
    }
    if (typeof type !== "string" || !allowed.test(type.trim())) {
      throw new SalesDbError(
        "rules_invalid",
        `${file}: key "column_types.${column}" must match ${allowed.source}, got ${JSON.stringify(type)}`,
        { file, rule: "column_types" },
      );
    }
    types[column as Column] = type.trim().toUpperCase();
  }
  return types;
}
