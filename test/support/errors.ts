import { expect } from "chai";
import { SalesDbError, type ErrorCode } from "../../loader/errors";

/** What a test expects of a SalesDbError; a string `message` is a fragment it must contain. */
export interface ExpectedError {
  readonly code: ErrorCode;
  readonly line?: number;
  readonly file?: string;
  readonly rule?: string;
  readonly message?: string | RegExp;
}

/**
 * Asserts that `error` is a SalesDbError with these properties, and returns it typed (in the style of csv-parse's
 * `assert_error`: one place that knows what an expected error looks like).
 */
export function assertError(error: unknown, expected: ExpectedError): SalesDbError {
  expect(error, String(error)).to.be.instanceOf(SalesDbError);
  const actual = error as SalesDbError;
  const { message, ...fields } = expected;
  for (const [key, value] of Object.entries(fields)) {
    expect(actual[key as keyof typeof fields], `${key} of: ${actual.message}`).to.equal(value);
  }
  if (typeof message === "string") expect(actual.message).to.contain(message);
  else if (message) expect(actual.message).to.match(message);
  return actual;
}

/** The SalesDbError `promise` rejects with, checked against `expected`; fails if it resolves. */
export async function rejectsWith(promise: Promise<unknown>, expected: ExpectedError): Promise<SalesDbError> {
  return assertError(await promise.then(resolvedInstead, (error: unknown) => error), expected);
}

/** The SalesDbError `work` throws, checked against `expected`; fails if it returns. */
export function throwsWith(work: () => unknown, expected: ExpectedError): SalesDbError {
  let thrown: unknown;
  try {
    resolvedInstead(work());
  } catch (error) {
    thrown = error;
  }
  return assertError(thrown, expected);
}

function resolvedInstead(value: unknown): never {
  throw new Error(`expected a SalesDbError, got ${JSON.stringify(value)}`);
}
