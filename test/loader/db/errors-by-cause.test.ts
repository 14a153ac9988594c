import { expect } from "chai";
import { asDatabaseError } from "../../../loader/db/transaction";
import { tableName } from "../../../loader/db/table-name";

/** A pg error as the server sends it: a message and a SQLSTATE. */
const serverError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("database errors named by their cause", () => {
  const sales = tableName("sales");

  it("a query on a connection the server had already ended is reported by the server's reason", () => {
    const notQueryable = new Error("Client has encountered a connection error and is not queryable");
    const fatal = serverError("25P03", "terminating connection due to idle-in-transaction timeout");
    const error = asDatabaseError(notQueryable, sales, fatal);
    expect(error.code).to.equal("db_error");
    expect(error.message).to.equal(
      "loading sales failed: the server ended the session because it sat idle in its transaction longer than " +
        "idle_in_transaction_session_timeout (terminating connection due to idle-in-transaction timeout); " +
        "nothing written: raise that setting for the loading role (ALTER ROLE … SET " +
        "idle_in_transaction_session_timeout), or load again",
    );
    expect(error.cause).to.equal(fatal);
  });

  it("an error with its own SQLSTATE is reported by it, whatever ended the connection since", () => {
    const cancelled = serverError("57014", "canceling statement due to user request");
    const error = asDatabaseError(cancelled, sales, serverError("57P01", "terminating connection"));
    expect(error.message).to.match(/^loading sales failed: the load was cancelled/);
  });

  for (const [code, said] of [
    ["25P04", "transaction_timeout"],
    ["57P05", "idle_session_timeout"],
    ["57P01", "the server ended the session"],
    ["57P02", "restarted"],
    ["25006", "the server is read-only now (a replica: the primary failed over"],
  ] as const) {
    it(`SQLSTATE ${code} says ${said}`, () => {
      expect(asDatabaseError(serverError(code, "x"), sales).message).to.contain(said);
    });
  }

  it("a connection that ended without a SQLSTATE (a failover, a dropped network) says the connection was lost", () => {
    const error = asDatabaseError(new Error("Connection terminated unexpectedly"), sales);
    expect(error.message).to.equal(
      "loading sales failed: the connection to the server was lost (Connection terminated unexpectedly); " +
        "nothing written: load again once the server (or its new primary) accepts connections",
    );
  });
});
