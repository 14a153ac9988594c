import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { scratch } from "../files";

/**
 * A stand-in for the Kubernetes API server, just enough for the seeder's tunnel: `GET` of one pod, of its
 * namespace and of the namespace's StatefulSets, and the
 * `pods/portforward` websocket (subprotocol v4.channel.k8s.io) forwarded to a real PostgreSQL. It can refuse
 * (an HTTP status on every request), report the pod not Ready, drop every forward, or freeze like a stopped API
 * server (nothing read, nothing answered, pings included).
 */
export interface FakeKubeApi {
  /** A kubeconfig file whose current context is this server. */
  readonly kubeconfig: string;
  /** What the pod looks like; `undefined` for a pod that does not exist (404). */
  pod: { phase: string; ready: boolean } | undefined;
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
  /** Client bytes forwarded to PostgreSQL so far. */
  readonly forwardedBytes: number;
  /** Closes every forwarded connection from the API's side, as a restarting API server would. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startFakeKubeApi(
  database: { host: string; port: number },
  options: { answersPings?: boolean } = {},
): Promise<FakeKubeApi> {
  const files = await scratch();
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

  const server: Server = createServer((request, response) => {
    if (api.hang) return;
    if (api.refuseWith !== undefined) {
      response.writeHead(api.refuseWith, { "content-type": "application/json" }).end(status(api.refuseWith));
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
      metadata: { namespace: match[1], name: match[2] },
      status: {
        phase: api.pod.phase,
        conditions: [{ type: "Ready", status: api.pod.ready ? "True" : "False" }],
      },
    };
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(pod));
  });

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

  let forwarded = 0;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("fake API has no TCP address");
  const kubeconfig = await writeKubeconfig(files, address.port);

  const api: FakeKubeApi = {
    kubeconfig,
    pod: { phase: "Running", ready: true },
    namespaceExists: true,
    statefulSets: [{ name: "postgres", replicas: 1 }],
    refuseWith: undefined,
    refusePortForwardWith: undefined,
    hang: false,
    freezeAfterBytes: undefined,
    get forwardedBytes() {
      return forwarded;
    },
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

/** A kubeconfig file in `files` whose current context is a plain-HTTP API server on 127.0.0.1:`port`. */
export function writeKubeconfig(files: Awaited<ReturnType<typeof scratch>>, port: number): Promise<string> {
  return files.write(
    "kubeconfig",
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: fake, cluster: {server: 'http://127.0.0.1:${port}', insecure-skip-tls-verify: true}}]`,
      "users: [{name: fake, user: {token: fake-token}}]",
      "contexts: [{name: fake, context: {cluster: fake, user: fake}}]",
      "current-context: fake",
      "",
    ].join("\n"),
  );
}
