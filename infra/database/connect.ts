// How provider code reaches the stack's database: the password (given, or read from the Secret or PGPASSWORD), a
// port-forward when the target asks for one, and errors that name the pod and the fix rather than the tunnel.
import { SalesDbError } from "../../loader/errors";
import type { ConnectionOptions } from "node:tls";
import type { DatabaseAccess, DatabaseTarget, TlsTarget } from "./target";
import { isNotFound, readSecretKey } from "../kube/api";
import { TUNNEL_LIMITS, type TunnelLimits } from "../kube/target";
import { openPortForward } from "../kube/tunnel";

/**
 * Runs `work` with connection options for the seed's database, through a port-forward when asked. The wait for
 * the pod and for PostgreSQL share one deadline; a tunnel that breaks ends the work at once.
 */
export async function withDatabase<T>(
  seed: DatabaseAccess,
  password: string,
  work: (connection: DatabaseConnection) => Promise<T>,
  limits = TUNNEL_LIMITS,
): Promise<T> {
  const deadline = Date.now() + seed.waitTimeoutSeconds * 1000;
  const target = seed.target;
  const tls = target.tls ? await tlsOptions(target.tls, limits) : undefined;
  const connection = (host: string, port: number): DatabaseConnection => ({
    connectionString: `postgres://${encodeURIComponent(seed.user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(seed.database)}`,
    waitTimeoutMs: Math.max(1_000, deadline - Date.now()),
    ...(tls ? { tls } : {}),
  });
  if (target.mode === "direct") {
    const where = `${target.host}:${target.port}`;
    return work(connection(target.host, target.port)).catch((error: unknown) =>
      Promise.reject(credentialsDrift(tlsFailure(error, target.tls, where), seed, where)),
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
    throw credentialsDrift(tlsFailure(error, target.tls, tunnel.description), seed, pod);
  } finally {
    await tunnel.close();
  }
}

/** How provider code connects: the loader's connection options. */
export interface DatabaseConnection {
  readonly connectionString: string;
  readonly waitTimeoutMs: number;
  readonly tls?: ConnectionOptions;
}

/** Verify the server against the CA of the Secret, for the name its certificate carries; never plain text. */
async function tlsOptions(tls: TlsTarget, limits: TunnelLimits): Promise<ConnectionOptions> {
  const ca = await readSecretKey(
    { namespace: tls.namespace, name: tls.secretName, key: tls.secretKey, context: tls.context },
    limits,
  );
  return { ca, servername: tls.servername, rejectUnauthorized: true };
}

/** A certificate the CA does not verify, or a server without TLS: one line that says so, not the TLS stack's. */
function tlsFailure(error: unknown, tls: TlsTarget | undefined, where: string): unknown {
  if (!tls || !(error instanceof SalesDbError) || error.code !== "db_error") return error;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof cause?.code === "string" ? cause.code : "";
  const message = typeof cause?.message === "string" ? cause.message : "";
  const certificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  if (!certificate && !/does not support SSL/i.test(message)) return error;
  return new SalesDbError(
    "db_error",
    `PostgreSQL in ${where} ${
      certificate
        ? `presented a certificate that the CA in secret ${tls.namespace}/${tls.secretName} (key ` +
          `${tls.secretKey}) does not verify for ${tls.servername} (${message})`
        : "does not offer TLS"
    }: the seed never falls back to plain text; check that the Secret is the cluster's own CA`,
    { cause: error },
  );
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
