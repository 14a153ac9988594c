import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { scramSecret } from "../../../infra/postgres/scram";
import {
  checkRolePassword,
  diffRolePassword,
  updateRolePassword,
  type RolePasswordInputs,
} from "../../../infra/postgres/rotation";
import { createTestDatabase, testServerUrl, withClient, type TestDatabase } from "../../support/postgres";

/** Whether `user` logs in to the test database with `password` (the server checks it: scram-sha-256). */
async function logsIn(db: TestDatabase, user: string, password: string): Promise<boolean> {
  const url = new URL(db.url);
  const client = new Client({
    host: url.hostname,
    port: Number(url.port),
    database: db.name,
    user,
    password,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "28P01") return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe("password rotation (real PostgreSQL)", () => {
  let db: TestDatabase;
  let role: string;
  const inputs = (password: string): RolePasswordInputs => {
    const url = new URL(db.url);
    return {
      user: role,
      database: db.name,
      password,
      target: { mode: "direct", host: url.hostname, port: Number(url.port) },
      waitTimeoutSeconds: 10,
    };
  };
  const setPassword = (password: string) => db.query(`ALTER ROLE "${role}" PASSWORD '${password}'`);

  beforeEach(async () => {
    db = await createTestDatabase();
    role = `rotation_${randomBytes(4).toString("hex")}`;
    await db.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'first-password'`);
    await db.query(`GRANT CONNECT ON DATABASE "${db.name}" TO "${role}"`);
  });
  afterEach(async () => {
    await db.drop();
    await withClient(testServerUrl(), (client) => client.query(`DROP ROLE IF EXISTS "${role}"`));
  });

  it("gives the role the new password through a connection made with the old one; the old one is refused after", async () => {
    const { outs } = await updateRolePassword(inputs("first-password"), inputs("second-password"));
    expect(await logsIn(db, role, "second-password")).to.equal(true);
    expect(await logsIn(db, role, "first-password")).to.equal(false);
    expect(outs.password, "the state keeps the password the role has now").to.equal("second-password");
  });

  it("converges when an earlier up changed the role but not the state: the new password already works", async () => {
    await setPassword("second-password");
    await updateRolePassword(inputs("first-password"), inputs("second-password"));
    expect(await logsIn(db, role, "second-password")).to.equal(true);
  });

  it("refuses, changing nothing and naming no password, when the role has none of the passwords the stack knows", async () => {
    await setPassword("set-by-hand");
    const error = await updateRolePassword(inputs("first-password"), inputs("second-password")).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code).to.equal("db_auth");
    expect(error?.message).to.contain(`refused every password this stack knows for user ${role}`);
    expect(error?.message).to.contain("pulumi config set --secret dbPassword");
    for (const password of ["set-by-hand", "first-password", "second-password"]) {
      expect(error?.message).to.not.contain(password);
    }
    expect(await logsIn(db, role, "set-by-hand")).to.equal(true);
  });

  it("previews a rotation without either password, and an unchanged password as no change", () => {
    const rotating = checkRolePassword(inputs("first-password"), inputs("second-password")).inputs;
    expect(rotating.rotates).to.equal(true);
    expect(diffRolePassword({ ...inputs("first-password"), rotates: false }, rotating).changes).to.equal(
      true,
    );
    const same = checkRolePassword(inputs("first-password"), inputs("first-password")).inputs;
    expect(same.rotates).to.equal(false);
    expect(diffRolePassword({ ...inputs("first-password"), rotates: true }, same).changes).to.equal(false);
    expect(checkRolePassword({}, inputs("first-password")).inputs.rotates, "a first up").to.equal(false);
  });

  it("computes the SCRAM secret the server computes from the same password, salt and iterations", async () => {
    // Fullwidth letters and a no-break space: SASLprep (NFKC, spaces mapped) changes them. The server's default
    // password_encryption (scram-sha-256 since PostgreSQL 14) hashes the plain password.
    for (const password of ["plain-ascii-password", "ｐａｓｓ\u00a0word-é"]) {
      await db.query(`ALTER ROLE "${role}" PASSWORD '${password}'`);
      const [stored] = await db.query<{ rolpassword: string }>(
        "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
        [role],
      );
      const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored!.rolpassword);
      expect(match, stored!.rolpassword).to.not.equal(null);
      const ours = scramSecret(password, Buffer.from(match![2]!, "base64"), Number(match![1]));
      expect(ours).to.equal(stored!.rolpassword);
      expect(ours).to.not.contain(password);
    }
  });

  it("a rotated non-ASCII password logs in from node-postgres, which applies SASLprep too", async () => {
    await updateRolePassword(inputs("first-password"), inputs("ｐａｓｓ\u00a0word"));
    expect(await logsIn(db, role, "ｐａｓｓ\u00a0word")).to.equal(true);
  });
});
