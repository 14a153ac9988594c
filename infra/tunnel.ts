import { createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";

/** Which pod and port to forward, on which cluster (the kubeconfig's current context unless `context` is set). */
export interface PodTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
  readonly context?: string;
}

/** A local loopback port forwarded to a pod, like `kubectl port-forward`, but through the client library. */
export interface Tunnel {
  readonly host: string;
  readonly port: number;
  /** What the Kubernetes API last said went wrong, if anything, for error messages. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

async function kubeConfig(context: string | undefined) {
  const k8s = await import("@kubernetes/client-node");
  const config = new k8s.KubeConfig();
  config.loadFromDefault();
  if (context) config.setCurrentContext(context);
  return { k8s, config };
}

/**
 * Listens on 127.0.0.1 (a free port) and forwards each connection to the pod's port through the API server's
 * `pods/portforward` subresource. No kubectl subprocess.
 */
export async function openPortForward(target: PodTarget): Promise<Tunnel> {
  const { k8s, config } = await kubeConfig(target.context);
  const forward = new k8s.PortForward(config);
  let lastError: string | undefined;
  const sockets = new Set<Socket>();

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lastError = chunk.toString("utf8").trim() || lastError;
        done();
      },
    });
    forward
      .portForward(target.namespace, target.pod, [target.port], socket, errors, socket)
      .catch((error: unknown) => {
        lastError = describeKubeError(error);
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("port-forward listener has no TCP address");

  return {
    host: "127.0.0.1",
    port: address.port,
    lastError: () => lastError,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads one key of a Secret, for the provider methods that get no secret inputs (read and delete). */
export async function readSecretKey(target: {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  readonly context?: string;
}): Promise<string> {
  const { k8s, config } = await kubeConfig(target.context);
  const api = config.makeApiClient(k8s.CoreV1Api);
  const secret = await api.readNamespacedSecret({ name: target.name, namespace: target.namespace });
  const encoded = secret.data?.[target.key];
  if (encoded === undefined)
    throw new Error(`secret ${target.namespace}/${target.name} has no key ${target.key}`);
  return Buffer.from(encoded, "base64").toString("utf8");
}

/** True when the Kubernetes API answered 404 (the Secret or its namespace is gone); not for DNS or network errors. */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 404;
}

function describeKubeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n", 1)[0] ?? message;
}
