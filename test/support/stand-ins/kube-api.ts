import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { WebSocketServer, type WebSocket } from "ws";
import { scratch } from "../files";

/**
 * A stand-in for the Kubernetes API server, just enough for the seeder's tunnel: `GET` of one pod, of its
 * namespace and of the namespace's StatefulSets, and the
 * `pods/portforward` websocket (subprotocol v4.channel.k8s.io) forwarded to a port (a real PostgreSQL, mostly).
 * It can refuse (an HTTP status on every request), report the pod not Ready, drop every forward, close them as
 * when their pod dies mid-stream, or freeze like a stopped API server (nothing read, nothing answered, pings
 * included). With `tls`, it serves HTTPS with a certificate of its own, which its kubeconfig names as the
 * cluster's CA.
 */
export interface FakeKubeApi {
  /** A kubeconfig file whose current context is this server. */
  readonly kubeconfig: string;
  /** What the pod looks like (a new `uid`: another pod of the same name); `undefined`: it does not exist (404). */
  pod: { phase: string; ready: boolean; uid?: string } | undefined;
  /** Whether the pod's namespace exists (`GET` of it answers 200, else 404). */
  namespaceExists: boolean;
  /** The StatefulSets of the namespace, which own pods `<name>-<ordinal>`. */
  statefulSets: { name: string; replicas: number }[];
  /** Answer every request with this HTTP status and a Kubernetes Status body. */
  refuseWith: number | undefined;
  /** Answer only port-forward requests with this HTTP status (RBAC that allows get pods, not pods/portforward). */
  refusePortForwardWith: number | undefined;
  /** Take every request and never answer it, like a stopped API server. */
  hang: boolean;
  /** Freeze once this many bytes went from the client to PostgreSQL. */
  freezeAfterBytes: number | undefined;
  /**
   * Once this many bytes went from the client to PostgreSQL, act as an API server whose pod died mid-stream: stop
   * taking bytes (the client's backlog builds until it pauses), then, `STALL_MS` later, close every forward.
   */
  dieAfterBytes: number | undefined;
  /** Client bytes forwarded to PostgreSQL so far. */
  readonly forwardedBytes: number;
  /** Port-forward websockets open now. */
  readonly openForwards: number;
  /** Bytes of the upstream's that the API holds for clients, not yet taken by their connections. */
  readonly heldForClients: number;
  /** The masking key of the first frame the client sent on each port-forward websocket, as it came on the wire. */
  readonly firstFrameMasks: readonly Buffer[];
  /** Closes every forwarded connection from the API's side, as a restarting API server would. */
  dropAll(): void;
  close(): Promise<void>;
}

/**
 * How long a dying forward stops taking bytes before it closes: far longer than a load needs to fill the loopback's
 * buffers and the tunnel's high-water mark (about 10 MB, tens of ms here).
 */
const STALL_MS = 1_500;

export async function startFakeKubeApi(
  database: { host: string; port: number },
  options: { answersPings?: boolean; tls?: boolean } = {},
): Promise<FakeKubeApi> {
  const files = await scratch();
  const certificate = options.tls ? await selfSignedCertificate(files) : undefined;
  const firstFrameMasks: Buffer[] = [];
  const links = new Set<{ ws: WebSocket; upstream: Socket; request: IncomingMessage }>();
  let frozen = false;

  const status = (code: number) =>
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      code,
      message: `fake refusal ${code}`,
    });

  const server: Server = (certificate ? createTlsServer.bind(null, certificate) : createServer)(
    (request, response) => {
      if (api.hang) return;
      if (api.refuseWith !== undefined) {
        response
          .writeHead(api.refuseWith, { "content-type": "application/json" })
          .end(status(api.refuseWith));
        return;
      }
      const json = (body: unknown) =>
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      const namespace = /^\/api\/v1\/namespaces\/([^/?]+)$/.exec(request.url ?? "");
      if (namespace) {
        if (!api.namespaceExists)
          response.writeHead(404, { "content-type": "application/json" }).end(status(404));
        else json({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace[1] } });
        return;
      }
      if (/^\/apis\/apps\/v1\/namespaces\/[^/]+\/statefulsets(\?|$)/.test(request.url ?? "")) {
        const items = api.namespaceExists ? api.statefulSets : [];
        json({
          apiVersion: "apps/v1",
          kind: "StatefulSetList",
          metadata: {},
          items: items.map((sts) => ({ metadata: { name: sts.name }, spec: { replicas: sts.replicas } })),
        });
        return;
      }
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)$/.exec(request.url ?? "");
      if (!match || !api.pod) {
        response.writeHead(404, { "content-type": "application/json" }).end(status(404));
        return;
      }
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { namespace: match[1], name: match[2], uid: api.pod.uid },
        status: {
          phase: api.pod.phase,
          conditions: [{ type: "Ready", status: api.pod.ready ? "True" : "False" }],
        },
      };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(pod));
    },
  );

  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: () => "v4.channel.k8s.io",
    autoPong: options.answersPings ?? true,
  });
  server.on("upgrade", (request, socket, head) => {
    if (frozen) return; // a frozen server takes the connection and never answers
    const refusal = api.refusePortForwardWith ?? api.refuseWith;
    if (refusal !== undefined) {
      socket.end(`HTTP/1.1 ${refusal} Refused\r\ncontent-type: application/json\r\n\r\n${status(refusal)}`);
      return;
    }
    // The client's first frame, before ws unmasks it: byte 1's low bits give the length's size, the key follows.
    socket.once("data", (chunk: Buffer) => {
      const size = (chunk[1] ?? 0) & 0x7f;
      const at = 2 + (size === 126 ? 2 : size === 127 ? 8 : 0);
      if ((chunk[1] ?? 0) & 0x80) firstFrameMasks.push(Buffer.from(chunk.subarray(at, at + 4)));
    });
    sockets.handleUpgrade(request, socket, head, (ws) => forward(ws, request));
  });

  function forward(ws: WebSocket, request: IncomingMessage) {
    const upstream = connect(database.port, database.host);
    const link = { ws, upstream, request };
    links.add(link);
    const port = Buffer.alloc(2);
    port.writeUInt16LE(5432);
    ws.send(Buffer.concat([Buffer.from([0]), port]));
    ws.send(Buffer.concat([Buffer.from([1]), port]));
    upstream.on("data", (chunk: Buffer) => ws.send(Buffer.concat([Buffer.from([0]), chunk])));
    ws.on("message", (data: Buffer) => {
      upstream.write(data.subarray(1));
      forwarded += data.length - 1;
      if (api.freezeAfterBytes !== undefined && forwarded >= api.freezeAfterBytes) freeze();
      if (api.dieAfterBytes !== undefined && forwarded >= api.dieAfterBytes) die();
    });
    const end = () => {
      links.delete(link);
      upstream.destroy();
      ws.terminate();
    };
    upstream.on("close", end);
    upstream.on("error", end);
    ws.on("close", end);
  }

  function freeze() {
    if (frozen) return;
    frozen = true;
    // Nothing is read any more: no data, no pings, no close. The PostgreSQL side stays as it is.
    for (const link of links) {
      link.request.socket.pause();
      link.upstream.pause();
    }
  }

  let dying = false;
  function die() {
    if (dying) return;
    dying = true;
    for (const link of links) link.request.socket.pause();
    setTimeout(() => {
      for (const link of links) {
        link.upstream.destroy();
        link.request.socket.destroy(); // bytes left unread: the client's kernel sees a reset, as from Go's Close
      }
    }, STALL_MS).unref();
  }

  let forwarded = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("fake API has no TCP address");
  const kubeconfig = await writeKubeconfig(files, address.port, certificate?.caFile);

  const api: FakeKubeApi = {
    kubeconfig,
    pod: { phase: "Running", ready: true },
    namespaceExists: true,
    statefulSets: [{ name: "postgres", replicas: 1 }],
    refuseWith: undefined,
    refusePortForwardWith: undefined,
    hang: false,
    freezeAfterBytes: undefined,
    dieAfterBytes: undefined,
    get forwardedBytes() {
      return forwarded;
    },
    get openForwards() {
      return links.size;
    },
    get heldForClients() {
      let held = 0;
      for (const link of links) held += link.ws.bufferedAmount;
      return held;
    },
    firstFrameMasks,
    dropAll() {
      for (const link of links) link.request.socket.destroy();
    },
    async close() {
      for (const link of links) {
        link.upstream.destroy();
        link.request.socket.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await files.cleanup();
    },
  };
  return api;
}

/**
 * A kubeconfig file in `files` whose current context is an API server on 127.0.0.1:`port`: plain HTTP, or HTTPS
 * verified against the CA certificate in `caFile`.
 */
export function writeKubeconfig(
  files: Awaited<ReturnType<typeof scratch>>,
  port: number,
  caFile?: string,
): Promise<string> {
  const cluster = caFile
    ? `{server: 'https://127.0.0.1:${port}', certificate-authority: '${caFile}'}`
    : `{server: 'http://127.0.0.1:${port}', insecure-skip-tls-verify: true}`;
  return files.write(
    "kubeconfig",
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: fake, cluster: ${cluster}}]`,
      "users: [{name: fake, user: {token: fake-token}}]",
      "contexts: [{name: fake, context: {cluster: fake, user: fake}}]",
      "current-context: fake",
      "",
    ].join("\n"),
  );
}

/** A self-signed certificate for 127.0.0.1, made by openssl in `files` (bounded: openssl gets 20 s). */
async function selfSignedCertificate(
  files: Awaited<ReturnType<typeof scratch>>,
): Promise<{ key: Buffer; cert: Buffer; caFile: string }> {
  const key = join(files.dir, "api.key");
  const caFile = join(files.dir, "api.crt");
  await promisify(execFile)(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
      .concat(["-subj", "/CN=fake-kube-api", "-addext", "subjectAltName=IP:127.0.0.1"])
      .concat(["-keyout", key, "-out", caFile]),
    { timeout: 20_000 },
  );
  return { key: await readFile(key), cert: await readFile(caFile), caFile };
}
