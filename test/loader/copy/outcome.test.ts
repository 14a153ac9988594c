import { expect } from "chai";
import { checkCopiedRows } from "../../../loader/copy/outcome";
import { throwsWith } from "../../support/errors";

describe("the COPY's row count", () => {
  it("passes when the server stored as many rows as the encoder sent", () => {
    expect(() => checkCopiedRows(2_500, 2_500, "sales.csv")).to.not.throw();
    expect(() => checkCopiedRows(0, 0, "sales.csv")).to.not.throw();
  });

  it("refuses a mismatch either way, before COMMIT, naming the file and both counts", () => {
    throwsWith(() => checkCopiedRows(2_499, 2_500, "sales.csv"), {
      code: "copy_row_count",
      file: "sales.csv",
      message: /^sales\.csv: the database stored 2499 rows where 2500 valid rows were sent; nothing written$/,
    });
    throwsWith(() => checkCopiedRows(3, 2, "sales.csv"), {
      code: "copy_row_count",
      message: "stored 3 rows",
    });
  });
});
