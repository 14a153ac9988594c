import saslprep from "@mongodb-js/saslprep";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** PostgreSQL's default iteration count for SCRAM-SHA-256 (scram_iterations). */
const ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 secret PostgreSQL stores for `password` (RFC 5802, RFC 7677), computed here as `psql`'s
 * `\password` does, so that `ALTER ROLE … PASSWORD` carries the secret and never the password: a statement the
 * server logs (log_statement, an error) then shows nothing a client could log in with.
 */
export function scramSecret(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = ITERATIONS,
): string {
  const salted = pbkdf2Sync(prepare(password), salt, iterations, 32, "sha256");
  const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** SASLprep, or the password as given where SASLprep refuses it: what the server and libpq do too. */
function prepare(password: string): string {
  try {
    return saslprep(password);
  } catch {
    return password;
  }
}
