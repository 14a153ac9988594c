import { connect, createServer, type Socket } from "node:net";

/** A TCP relay in front of the test server, which a test can freeze as a network that stops answering. */
export interface TcpProxy {
  /** `url` with the relay's port. */
  readonly url: string;
  /** Stops relaying in both directions without closing anything, and refuses new connections. */
  freeze(): void;
  /**
   * Once a client has sent these bytes, stops relaying the server's replies to it (held unread), as a server that
   * froze right after taking a request.
   */
  holdRepliesAfter(request: Buffer): void;
  /** Closes the relay and every connection through it. */
  close(): Promise<void>;
}

export async function tcpProxy(url: string): Promise<TcpProxy> {
  const upstream = new URL(url);
  const pairs: [Socket, Socket][] = [];
  let holdAfter: Buffer | undefined;
  const server = createServer((client) => {
    const server = connect(Number(upstream.port || 5432), upstream.hostname);
    pairs.push([client, server]);
    let tail = Buffer.alloc(0); // a request may arrive split across chunks
    client.on("data", (chunk: Buffer) => {
      if (!holdAfter) return;
      const seen = Buffer.concat([tail, chunk]);
      if (seen.includes(holdAfter)) {
        server.unpipe(client);
        server.pause();
      }
      tail = seen.subarray(Math.max(0, seen.length - holdAfter.length + 1));
    });
    const drop = () => {
      client.destroy();
      server.destroy();
    };
    for (const socket of [client, server]) socket.on("error", drop).on("close", drop);
    client.pipe(server);
    server.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const relayed = new URL(url);
  relayed.port = String(typeof address === "object" && address ? address.port : 0);
  return {
    url: relayed.toString(),
    freeze() {
      server.close();
      for (const [client, server] of pairs) {
        client.unpipe(server);
        server.unpipe(client);
        client.pause();
        server.pause();
      }
    },
    holdRepliesAfter(request) {
      holdAfter = request;
    },
    async close() {
      for (const [client, server] of pairs) {
        client.destroy();
        server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
