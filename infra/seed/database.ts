// How the seed provider reaches its database: the password (given, or read from the Secret or PGPASSWORD), a
// port-forward when the target asks for one, and errors that name the pod and the fix rather than the tunnel.
import { SalesDbError } from "../../loader/errors";
import type { SeedInputs } from "./types";
import { isNotFound, readSecretKey } from "../kube/api";
import { TUNNEL_LIMITS } from "../kube/target";
import { openPortForward } from "../kube/tunnel";

/**
 * Runs `work` with connection options for the seed's database, through a port-forward when asked. The wait for
 * the pod and for PostgreSQL share one deadline; a tunnel that breaks ends the work at once.
 */
export async function withDatabase<T>(
  seed: Pick<SeedInputs, "target" | "database" | "user" | "waitTimeoutSeconds">,
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
    throw credentialsDrift(error, seed, pod, target);
  } finally {
    await tunnel.close();
  }
}

/**
 * A refused password on a running database is almost always a `dbPassword` (or `dbUser`/`dbName`) changed after
 * the volume was initialised: say so, and how to fix it, naming the pod (not the tunnel's throwaway port).
 */
function credentialsDrift(
  error: unknown,
  seed: Pick<SeedInputs, "database" | "user">,
  where: string,
  pod?: { readonly namespace: string; readonly pod: string },
): unknown {
  if (!(error instanceof SalesDbError) || error.code !== "db_auth") return error;
  const fix = pod
    ? `set it inside the database with \`kubectl -n ${pod.namespace} exec -it ${pod.pod} -- psql -U ${seed.user} ` +
      `-d ${seed.database} -c '\\password ${seed.user}'\`, or set the old dbPassword back`
    : `set it inside the database (ALTER ROLE ${seed.user} PASSWORD …), or set the old dbPassword back`;
  return new SalesDbError(
    "db_auth",
    `PostgreSQL in ${where} refused the password of user ${seed.user} for database ${seed.database}: ` +
      "the database keeps the credentials of its first start, so a dbPassword, dbUser or dbName changed since " +
      `is not applied to it (README, Known limitations); ${fix}`,
    { cause: error },
  );
}

/** The password, or null when the namespace or Secret is gone: then so is the database the table lived in. */
export async function passwordUnlessGone(seed: Pick<SeedInputs, "target">): Promise<string | null> {
  try {
    return await passwordFor(seed);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** The password for methods without secret inputs: the Kubernetes Secret, or PGPASSWORD in direct mode. */
export async function passwordFor(seed: Pick<SeedInputs, "target">): Promise<string> {
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
