// How provider code reaches the stack's database: the password (given, or read from the Secret or PGPASSWORD), a
// port-forward when the target asks for one, and errors that name the pod and the fix rather than the tunnel.
import { SalesDbError } from "../../loader/errors";
import type { DatabaseAccess, DatabaseTarget } from "./target";
import { isNotFound, readSecretKey } from "../kube/api";
import { TUNNEL_LIMITS } from "../kube/target";
import { openPortForward } from "../kube/tunnel";

/**
 * Runs `work` with connection options for the seed's database, through a port-forward when asked. The wait for
 * the pod and for PostgreSQL share one deadline; a tunnel that breaks ends the work at once.
 */
export async function withDatabase<T>(
  seed: DatabaseAccess,
  password: string,
  work: (connection: { connectionString: string; waitTimeoutMs: number }) => Promise<T>,
  limits = TUNNEL_LIMITS,
): Promise<T> {
  const deadline = Date.now() + seed.waitTimeoutSeconds * 1000;
  const connection = (host: string, port: number) => ({
    connectionString: `postgres://${encodeURIComponent(seed.user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(seed.database)}`,
    waitTimeoutMs: Math.max(1_000, deadline - Date.now()),
  });
  const target = seed.target;
  if (target.mode === "direct") {
    return work(connection(target.host, target.port)).catch((error: unknown) =>
      Promise.reject(credentialsDrift(error, seed, `${target.host}:${target.port}`)),
    );
  }

  const tunnel = await openPortForward(target, {
    ...limits,
    podReadyMs: seed.waitTimeoutSeconds * 1000,
  });
  const pod = `pod ${target.namespace}/${target.pod}`;
  try {
    const working = work(connection(tunnel.host, tunnel.port));
    working.catch(() => undefined); // when the tunnel breaks first, the work's own failure comes later
    return await Promise.race([working, tunnel.broken]);
  } catch (error) {
    // The tunnel's failure is the cause; the connection's errors are only its symptoms.
    const broken = tunnel.failure();
    if (broken) {
      throw new SalesDbError(
        "kube_api",
        `${broken.message}; PostgreSQL rolls back an unfinished load, so the table keeps its old rows: ` +
          "run pulumi up again once the cluster answers",
        { cause: error },
      );
    }
    if (error instanceof SalesDbError && (error.code === "db_unreachable" || error.code === "db_error")) {
      const said = tunnel.lastError();
      if (said === undefined && error.code === "db_error") throw error;
      throw new SalesDbError(
        error.code,
        `${error.message} (PostgreSQL in ${tunnel.description}; the port-forward said: ${said ?? "nothing"})`,
        { cause: error },
      );
    }
    throw credentialsDrift(error, seed, pod);
  } finally {
    await tunnel.close();
  }
}

/**
 * A refused password on a running database: the stack rotates its own password (RolePassword), so the role's was
 * changed outside the stack, or `dbUser`/`dbName` changed since the volume was initialised. Say so and how to fix
 * it, naming the pod (not the tunnel's throwaway port).
 */
function credentialsDrift(
  error: unknown,
  seed: Pick<DatabaseAccess, "database" | "user">,
  where: string,
): unknown {
  if (!(error instanceof SalesDbError) || error.code !== "db_auth") return error;
  return new SalesDbError(
    "db_auth",
    `PostgreSQL in ${where} refused the password of user ${seed.user} for database ${seed.database}: ` +
      "if the role's password was changed outside this stack, set dbPassword to it " +
      "(pulumi config set --secret dbPassword …) and run pulumi up; a dbUser or dbName changed since the first up " +
      "is not applied to an initialised volume (README, Day-two operations)",
    { cause: error },
  );
}

/** The password, or null when the namespace or Secret is gone: then so is the database the table lived in. */
export async function passwordUnlessGone(seed: { readonly target: DatabaseTarget }): Promise<string | null> {
  try {
    return await passwordFor(seed);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** The password for methods without secret inputs: the Kubernetes Secret, or PGPASSWORD in direct mode. */
export async function passwordFor(seed: { readonly target: DatabaseTarget }): Promise<string> {
  const target = seed.target;
  if (target.mode === "port-forward") {
    return readSecretKey(
      {
        namespace: target.namespace,
        name: target.secretName,
        key: target.secretKey,
        context: target.context,
      },
      TUNNEL_LIMITS,
    );
  }
  const password = process.env.PGPASSWORD;
  if (password === undefined)
    throw new Error("direct mode: set PGPASSWORD for pulumi refresh and destroy of the seed");
  return password;
}
