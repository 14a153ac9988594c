import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

describe("pg, as the loader loads it", () => {
  it("does not load Node's fetch (undici) on the way, and leaves no navigator of its own behind", () => {
    const connect = JSON.stringify(resolve("dist/loader/db/connection/connect.js"));
    const probe = `require(${connect});
      const undici = process.moduleLoadList.some((name) => name.includes("undici"));
      process.stdout.write(JSON.stringify({ undici, navigator: typeof navigator }));`;
    const loaded = JSON.parse(execFileSync(process.execPath, ["-e", probe], { encoding: "utf8" })) as unknown;
    const native = Number(process.versions.node.split(".")[0]) >= 21; // Node 21 and later have a navigator
    expect(loaded).to.deep.equal({ undici: false, navigator: native ? "object" : "undefined" });
  });
});
